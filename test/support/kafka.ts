import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { waitFor } from './wait';

/**
 * Tests that start brokers of their own take ports from this base (default 20092): the shared
 * broker at the base, the outage test's at base + 10000, the failover cluster's from base + 10100,
 * the secured broker's listeners (PLAINTEXT, SASL, SASL_SSL) at base + 10200..10202, Jaeger's at
 * base + 10300..10305, the stack test's from base + 10400, the reliability suite's cluster from
 * base + 10500 (its PROXIED listeners at base + 10510..10512, advertising the Toxiproxy proxies at
 * base + 10520..10522, Toxiproxy's API at base + 10530), the dashboards test's stack from base + 10600, the config test's Alertmanager at
 * base + 10650, the slow-consumer scenario's kafka-exporter, Prometheus and consumers at
 * base + 10700..10703, the outage-alerts test's stack from base + 10800, the renamed-group
 * test's kafka-exporter, Prometheus and consumer at base + 10900..10902, the OTLP port of the
 * no-trace-backend test at base + 10950, the dlq test's Jaeger and Pushgateway at
 * base + 10960..10966, the schema-registry test's Apicurio (its API and its management port)
 * at base + 11900..11901, and the image test's producer, consumer and unanswered OTLP endpoint at
 * base + 11950..11952 (`npm run test:soak`, outside `npm test`, moves its stack to
 * base + 10040). Each broker's controller listens 1000 above it. The
 * default keeps all of them below 32768, where Linux starts picking the local ports of outgoing
 * connections: a client's connection can never sit on a port a test is about to listen on. Two
 * checkouts testing at once set different bases (`TEST_PORT_BASE=19092`).
 */
export function testPort(offset = 0): number {
  const base = Number(process.env.TEST_PORT_BASE ?? 20092);
  if (!Number.isInteger(base) || base < 1024 || base + offset + 1000 > 65535) {
    throw new Error(
      `TEST_PORT_BASE must be a port from 1024 that leaves room above it, got "${process.env.TEST_PORT_BASE}"`,
    );
  }
  return base + offset;
}

export function testBrokers(): string[] {
  const brokers = process.env.TEST_KAFKA_BROKERS ?? process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('no test broker: run the e2e project through jest (its global setup starts one)');
  return brokers.split(',');
}

/** A name no other test uses: each test owns its topics and groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function testKafka(brokers = testBrokers()): Kafka {
  return new Kafka({ clientId: 'e2e-test', brokers, logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(work: (admin: Admin) => Promise<T>, brokers = testBrokers()): Promise<T> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Sum of the high watermarks of a topic's partitions: how many records it holds. */
export async function topicRecordCount(topic: string, brokers = testBrokers()): Promise<number> {
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(topic), brokers);
  return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
}

/** Per partition: the committed offset of `groupId` and the high watermark. */
export async function groupProgress(
  groupId: string,
  topic: string,
  brokers = testBrokers(),
): Promise<Array<{ partition: number; committed: number; high: number }>> {
  return withAdmin(async (admin) => {
    const [committed, highs] = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      admin.fetchTopicOffsets(topic),
    ]);
    const committedByPartition = new Map(
      (committed[0]?.partitions ?? []).map((entry) => [entry.partition, Number(entry.offset)]),
    );
    return highs.map((entry) => ({
      partition: entry.partition,
      committed: committedByPartition.get(entry.partition) ?? -1,
      high: Number(entry.high),
    }));
  }, brokers);
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  headers: Record<string, string>;
  value: string | null;
  timestamp: string;
}

function headersAsText(message: KafkaMessage): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) result[name] = first.toString();
  }
  return result;
}

/** Every record of a topic, read by a throwaway group from the beginning up to the current end. */
export async function readTopic(topic: string, brokers = testBrokers()): Promise<ReadRecord[]> {
  const expected = await topicRecordCount(topic, brokers);
  if (expected === 0) return [];
  const consumer = testKafka(brokers).consumer({ groupId: uniqueName('reader'), allowAutoTopicCreation: false });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          headers: headersAsText(message),
          value: message.value?.toString() ?? null,
          timestamp: message.timestamp,
        });
      },
    });
    await waitFor(`${expected} records of ${topic}`, () => records.length >= expected, { timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
