import type { Kafka, RecordMetadata } from 'kafkajs';
import { createKafkaDeadLetterSink } from './kafka-dead-letter';
import type { InboundMessage } from './source';

/** A stand-in for KafkaJS whose sends resolve with the given answers. */
function fakeKafka(answers: RecordMetadata[]): Kafka {
  return {
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async () => answers,
    }),
  } as unknown as Kafka;
}

const message: InboundMessage = {
  topic: 'events',
  partition: 2,
  offset: '41',
  key: Buffer.from('k'),
  value: Buffer.from('{}'),
  headers: {},
  timestamp: '1800000000000',
};
const reason = { error: new Error('poison'), attempts: 3, failedAt: new Date(1_800_000_000_000) };

describe('the dead-letter writer', () => {
  it('resolves once Kafka acknowledged the copy', async () => {
    const sink = createKafkaDeadLetterSink({
      kafka: fakeKafka([{ topicName: 'events.dlq', partition: 0, errorCode: 0 }]),
      topic: 'events.dlq',
      groupId: 'g',
    });
    await expect(sink.publish(message, reason)).resolves.toBeUndefined();
  });

  it('fails when the send resolved without an answer for the copy, so the original is not committed', async () => {
    const sink = createKafkaDeadLetterSink({ kafka: fakeKafka([]), topic: 'events.dlq', groupId: 'g' });
    await expect(sink.publish(message, reason)).rejects.toThrow(
      'kafka did not acknowledge the dead letter on events.dlq',
    );
  });
});
