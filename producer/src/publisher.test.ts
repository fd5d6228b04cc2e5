import { context, trace } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import { createLogger, createMetricsRegistry, type MetricsRegistry, type OutboundRecord } from '@event-pipeline/common';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import { createProducerMetrics } from './metrics';
import { createKafkaPublisher } from './publisher';

const TOPIC = 'events';

interface FakeProducer {
  id: number;
  connects: number;
  sends: number;
}

/**
 * A stand-in for KafkaJS that records which producer instance (producer id) sent each batch;
 * the reliability suite shows the same against real brokers.
 */
function fakeKafka({ failSends }: { failSends: number[] }) {
  const producers: FakeProducer[] = [];
  let sendCount = 0;
  const kafka = {
    producer: () => {
      const state: FakeProducer = { id: producers.length, connects: 0, sends: 0 };
      producers.push(state);
      return {
        connect: async () => void (state.connects += 1),
        disconnect: async () => undefined,
        send: async ({ messages }: { messages: Array<{ partition: number }> }) => {
          sendCount += 1;
          state.sends += 1;
          if (failSends.includes(sendCount)) throw new Error('Connection error: connect ECONNREFUSED');
          return [...new Set(messages.map((message) => message.partition))].map((partition) => ({
            topicName: TOPIC,
            partition,
            errorCode: 0,
          }));
        },
      };
    },
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => [TOPIC],
      fetchTopicMetadata: async () => ({
        topics: [{ name: TOPIC, partitions: [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 })) }],
      }),
    }),
  };
  return { kafka: kafka as unknown as Kafka, producers };
}

const record = (key: string): OutboundRecord => ({
  key,
  value: Buffer.from('{}'),
  headers: { ce_id: key },
  timestamp: String(Date.now()),
});

function publisherOn(kafka: Kafka, registry: MetricsRegistry = createMetricsRegistry()) {
  return createKafkaPublisher({
    kafka,
    topic: TOPIC,
    topicPartitions: 3,
    topicReplicationFactor: 1,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createProducerMetrics(registry),
    batchMaxEvents: 100,
    batchMaxBytes: 100_000,
    lingerMs: 0,
    compression: 'none',
    produceTimeoutMs: 5000,
    maxInFlightEvents: 1000,
    maxInFlightBytes: 1_000_000,
    readinessIntervalMs: 60_000,
  });
}

describe('the Kafka publisher after a failed send', () => {
  // Pins the loss the reliability suite found (Kafka entirely down, then back): KafkaJS rolls
  // back the sequence numbers of a failed request the broker may have written, so the next
  // batch under the same producer id could be taken for a duplicate and never written.
  it('sends the next batch under a new idempotent producer, and keeps it while sends succeed', async () => {
    const { kafka, producers } = fakeKafka({ failSends: [2] });
    const publisher = publisherOn(kafka);
    await publisher.start();
    try {
      await publisher.publish([record('a')]);
      await expect(publisher.publish([record('b')])).rejects.toMatchObject({ failure: 'failed' });
      await publisher.publish([record('c')]);
      await publisher.publish([record('d')]);
      expect(producers.map(({ connects, sends }) => ({ connects, sends }))).toEqual([
        { connects: 1, sends: 2 },
        { connects: 1, sends: 2 },
      ]);
    } finally {
      await publisher.stop(1000);
    }
  });
});

describe("the Kafka publisher's produce latency", () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());

  it('carries the trace of an event of the batch as exemplar', async () => {
    const registry = createMetricsRegistry();
    const publisher = publisherOn(fakeKafka({ failSends: [] }).kafka, registry);
    await publisher.start();
    try {
      const request = trace.getTracer('test').startSpan('POST /events');
      await context.with(trace.setSpan(context.active(), request), () => publisher.publish([record('a')]));
      request.end();

      const buckets = (await registry.metrics())
        .split('\n')
        .filter((line) => line.startsWith('events_produce_duration_seconds_bucket'));
      const exemplar = `# {trace_id="${request.spanContext().traceId}"}`;
      expect(buckets.filter((line) => line.includes(exemplar))).toHaveLength(1);
    } finally {
      await publisher.stop(1000);
    }
  });
});
