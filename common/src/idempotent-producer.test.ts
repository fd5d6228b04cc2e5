import type { Kafka } from 'kafkajs';
import { createIdempotentProducer } from './kafka';

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

const record = { topic: 'events', acks: -1, messages: [{ key: 'k', value: '{}' }] };

describe('the idempotent producer after a failed send', () => {
  // Pins the loss the reliability suite found (Kafka entirely down, then back): KafkaJS takes
  // back a failed send's sequence numbers, and a later batch reusing them is acknowledged unwritten.
  it('sends the next record under a new producer id, one for concurrent sends', async () => {
    const { kafka, sentBy } = fakeKafka({ failSends: [2] });
    let renewals = 0;
    const producer = createIdempotentProducer(kafka, { onRenewed: () => (renewals += 1) });
    await producer.connect();
    await producer.send(record);
    await expect(producer.send(record)).rejects.toThrow('ECONNREFUSED');
    await Promise.all([producer.send(record), producer.send(record)]);
    await producer.send(record);
    expect(sentBy).toEqual([0, 1, 1, 1]);
    expect(renewals).toBe(1);
  });
});
