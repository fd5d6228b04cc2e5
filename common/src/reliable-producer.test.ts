import { Partitioners, type Kafka, type Message, type PartitionMetadata } from 'kafkajs';
import { createReliableProducer, UnacknowledgedError, type PartitionedMessage } from './reliable-producer';
import { isRetriable } from './retriable';

const TOPIC = 'events';

interface Answer {
  topicName: string;
  partition: number;
  errorCode: number;
}

type Sent = { producer: number; keys: string[] };

/**
 * A stand-in for KafkaJS: `answer` decides each send's outcome (answers, or a throw); it
 * records which producer instance (producer id) sent which records.
 */
function fakeKafka(
  answer: (messages: PartitionedMessage[], send: number) => Answer[] = answerAll,
  partitions: number[] = [0, 1, 2],
) {
  const sent: Sent[] = [];
  const metadataRequests: Array<() => void> = [];
  let producers = 0;
  let holdMetadata = false;
  const kafka = {
    producer: () => {
      const id = producers++;
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        send: async ({ messages }: { messages: PartitionedMessage[] }) => {
          sent.push({ producer: id, keys: messages.map((message) => String(message.key)) });
          return answer(messages, sent.length);
        },
      };
    },
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicMetadata: async () => {
        if (holdMetadata) await new Promise<void>((resolve) => metadataRequests.push(resolve));
        return { topics: [{ name: TOPIC, partitions: partitions.map((partitionId) => ({ partitionId, leader: 1 })) }] };
      },
    }),
  };
  return {
    kafka: kafka as unknown as Kafka,
    sent,
    holdMetadata: () => (holdMetadata = true),
    metadataRequests,
  };
}

function answerAll(messages: PartitionedMessage[]): Answer[] {
  return [...new Set(messages.map((message) => message.partition))].map((partition) => answerFor(partition));
}

const answerFor = (partition: number, errorCode = 0, topicName = TOPIC): Answer => ({
  topicName,
  partition,
  errorCode,
});

const messages: PartitionedMessage[] = [
  { key: 'a', value: '{}', partition: 0 },
  { key: 'b', value: '{}', partition: 1 },
  { key: 'c', value: '{}', partition: 0 },
  { key: 'd', value: '{}', partition: 2 },
];

describe('the reliable producer', () => {
  describe('when every partition answers', () => {
    it('sends once', async () => {
      const { kafka, sent } = fakeKafka();
      await createReliableProducer({ kafka, topic: TOPIC }).send(messages);
      expect(sent).toEqual([{ producer: 0, keys: ['a', 'b', 'c', 'd'] }]);
    });
  });

  describe('when a send resolves without the answer of a partition (kafkajs#1303)', () => {
    it('sends again, in order and under the same producer id, only the records of that partition', async () => {
      // The first answer forgets partition 0, as KafkaJS does after a leader moved mid-request.
      const { kafka, sent } = fakeKafka((batch, send) =>
        send === 1 ? [answerFor(1), answerFor(2)] : answerAll(batch),
      );
      const unanswered: unknown[] = [];
      const producer = createReliableProducer({ kafka, topic: TOPIC, onUnanswered: (info) => unanswered.push(info) });
      await producer.send(messages);
      expect(sent).toEqual([
        { producer: 0, keys: ['a', 'b', 'c', 'd'] },
        { producer: 0, keys: ['a', 'c'] },
      ]);
      expect(unanswered).toEqual([{ partitions: [0], messages: 2, send: 1 }]);
    });

    it('counts an answer with an error code, or for another topic, as no answer', async () => {
      const { kafka, sent } = fakeKafka((batch, send) =>
        send === 1 ? [answerFor(0), answerFor(1, 6), answerFor(2, 0, 'other')] : answerAll(batch),
      );
      await createReliableProducer({ kafka, topic: TOPIC }).send(messages);
      expect(sent[1]!.keys).toEqual(['b', 'd']);
    });

    it('fails, naming the partitions, after maxSends sends; the failure is worth another attempt', async () => {
      const { kafka, sent } = fakeKafka(() => [answerFor(1), answerFor(2)]);
      const failure = createReliableProducer({ kafka, topic: TOPIC, maxSends: 3 })
        .send(messages)
        .catch((error: unknown) => error);
      const error = await failure;
      expect(error).toBeInstanceOf(UnacknowledgedError);
      expect((error as Error).message).toBe('kafka did not acknowledge partition(s) 0 of events');
      expect(isRetriable(error)).toBe(true);
      expect(sent).toHaveLength(3);
    });
  });

  describe('after a failed send', () => {
    // Pins the loss the reliability suite found (Kafka entirely down, then back): KafkaJS takes
    // back a failed send's sequence numbers, and a later batch reusing them is acknowledged unwritten.
    it('sends the next records under a new producer id, one for concurrent sends, and keeps it while sends succeed', async () => {
      const { kafka, sent } = fakeKafka((batch, send) => {
        if (send === 2) throw new Error('Connection error: connect ECONNREFUSED');
        return answerAll(batch);
      });
      let renewals = 0;
      const producer = createReliableProducer({ kafka, topic: TOPIC, onRenewed: () => (renewals += 1) });
      await producer.connect();
      const one = (key: string): PartitionedMessage[] => [{ key, value: '{}', partition: 0 }];
      await producer.send(one('a'));
      await expect(producer.send(one('b'))).rejects.toThrow('ECONNREFUSED');
      await Promise.all([producer.send(one('c')), producer.send(one('d'))]);
      await producer.send(one('e'));
      expect(sent.map(({ producer: id }) => id)).toEqual([0, 0, 1, 1, 1]);
      expect(renewals).toBe(1);
    });

    it('renews the producer also after giving up on unanswered partitions, whose records the broker may hold', async () => {
      const { kafka, sent } = fakeKafka((batch, send) => (send === 1 ? [] : answerAll(batch)));
      const producer = createReliableProducer({ kafka, topic: TOPIC, maxSends: 1 });
      await expect(producer.send(messages.slice(0, 1))).rejects.toBeInstanceOf(UnacknowledgedError);
      await producer.send(messages.slice(1, 2));
      expect(sent.map(({ producer: id }) => id)).toEqual([0, 1]);
    });
  });

  describe('choosing partitions', () => {
    const metadata = (count: number): PartitionMetadata[] =>
      Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));

    it("chooses for a key what KafkaJS's default partitioner (Kafka's Java client) would, among the partitions refreshed", async () => {
      const { kafka } = fakeKafka(answerAll, [0, 1, 2, 3, 4, 5]);
      const producer = createReliableProducer({ kafka, topic: TOPIC });
      await producer.refreshPartitions();
      const javaCompatible = Partitioners.DefaultPartitioner();
      for (const key of ['user-1', 'user-2', 'order-42', 'x']) {
        const message: Message = { key, value: '{}' };
        expect(producer.partitionOf(message)).toBe(
          javaCompatible({ topic: TOPIC, partitionMetadata: metadata(6), message }),
        );
      }
    });

    it('refuses to send a record before any partition is known, rather than let KafkaJS choose unchecked', async () => {
      const { kafka, sent } = fakeKafka();
      const producer = createReliableProducer({ kafka, topic: TOPIC });
      const record = { key: 'k', value: '{}' };
      await expect(producer.send([{ ...record, partition: producer.partitionOf(record) }])).rejects.toThrow(
        'no partition of events chosen for a record: its partitions are not known yet',
      );
      expect(sent).toEqual([]);
    });

    it('asks for the partitions once while a request is under way', async () => {
      const fake = fakeKafka();
      fake.holdMetadata();
      const producer = createReliableProducer({ kafka: fake.kafka, topic: TOPIC });
      const first = producer.refreshPartitions();
      const second = producer.refreshPartitions();
      expect(fake.metadataRequests).toHaveLength(1);
      fake.metadataRequests[0]!();
      expect(await first).toHaveLength(3);
      expect(await second).toBe(await first);
    });
  });
});
