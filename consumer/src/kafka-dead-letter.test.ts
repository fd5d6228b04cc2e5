import type { Kafka } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from './dead-letter-headers';
import { createKafkaDeadLetterSink } from './kafka-dead-letter';
import type { InboundMessage } from './source';

interface SentRecord {
  topic: string;
  acks: number;
  messages: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string>; partition: number }>;
}

/** A stand-in for KafkaJS that keeps what was sent and acknowledges every partition. */
function fakeKafka(partitions: number) {
  const sent: SentRecord[] = [];
  const kafka = {
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async (record: SentRecord) => {
        sent.push(record);
        return record.messages.map(({ partition }) => ({ topicName: record.topic, partition, errorCode: 0 }));
      },
    }),
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicMetadata: async () => ({
        topics: [
          {
            name: 'events.dlq',
            partitions: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1 })),
          },
        ],
      }),
    }),
  };
  return { kafka: kafka as unknown as Kafka, sent };
}

const message: InboundMessage = {
  topic: 'events',
  partition: 2,
  offset: '41',
  key: Buffer.from('k'),
  value: Buffer.from('{"n":1}'),
  headers: { ce_id: 'id-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  timestamp: '1800000000000',
};
const reason = { error: new Error('poison'), attempts: 3, failedAt: new Date(1_800_000_000_000) };

describe('the dead-letter writer', () => {
  it("writes the original key, value and headers with headers that say why, acks=all, to its key's partition", async () => {
    const { kafka, sent } = fakeKafka(6);
    const sink = createKafkaDeadLetterSink({ kafka, topic: 'events.dlq', groupId: 'g' });
    await sink.connect();
    await sink.publish(message, reason);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'events.dlq', acks: -1 });
    const [copy] = sent[0]!.messages;
    expect(copy!.key).toEqual(message.key);
    expect(copy!.value).toEqual(message.value);
    expect(copy!.headers).toEqual({
      ...message.headers,
      [DEAD_LETTER_HEADERS.errorMessage]: 'poison',
      [DEAD_LETTER_HEADERS.errorName]: 'Error',
      [DEAD_LETTER_HEADERS.attempts]: '3',
      [DEAD_LETTER_HEADERS.originalTopic]: 'events',
      [DEAD_LETTER_HEADERS.originalPartition]: '2',
      [DEAD_LETTER_HEADERS.originalOffset]: '41',
      [DEAD_LETTER_HEADERS.originalTimestamp]: '1800000000000',
      [DEAD_LETTER_HEADERS.consumerGroup]: 'g',
      [DEAD_LETTER_HEADERS.failedAt]: '2027-01-15T08:00:00.000Z',
    });
    // murmur2('k') over 6 partitions, as Kafka's Java client would place it.
    expect(copy!.partition).toBe(2);
  });
});
