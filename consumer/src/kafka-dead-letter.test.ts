import type { Kafka } from 'kafkajs';
import { createKafkaDeadLetterSink } from './kafka-dead-letter';
import type { InboundMessage } from './source';

/** A stand-in for KafkaJS that records which producer instance (producer id) sent each record. */
function fakeKafka({ failSends }: { failSends: number[] }) {
  const sentBy: number[] = [];
  let producers = 0;
  let sends = 0;
  const kafka = {
    producer: () => {
      const id = producers++;
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        send: async () => {
          sends += 1;
          if (failSends.includes(sends)) throw new Error('Connection error: connect ECONNREFUSED');
          sentBy.push(id);
          return [];
        },
      };
    },
  };
  return { kafka: kafka as unknown as Kafka, sentBy };
}

const message: InboundMessage = {
  topic: 'events',
  partition: 0,
  offset: '7',
  key: Buffer.from('k'),
  value: Buffer.from('{}'),
  headers: {},
  timestamp: '0',
};
const reason = { error: new Error('poison'), attempts: 3, failedAt: new Date(0) };

describe('the dead-letter writer after a failed write', () => {
  // The reliability suite found this loss in the producer's publisher (a failed send's sequence
  // numbers reused); the dead-letter writer is an idempotent KafkaJS producer too.
  it('writes the next record under a new producer id', async () => {
    const { kafka, sentBy } = fakeKafka({ failSends: [2] });
    const sink = createKafkaDeadLetterSink({ kafka, topic: 'events.dlq', groupId: 'g' });
    await sink.connect();
    await sink.publish(message, reason);
    await expect(sink.publish(message, reason)).rejects.toThrow('ECONNREFUSED');
    await Promise.all([sink.publish(message, reason), sink.publish(message, reason)]);
    await sink.publish(message, reason);
    // One replacement for the two concurrent writes after the failure, none after that.
    expect(sentBy).toEqual([0, 1, 1, 1]);
  });
});
