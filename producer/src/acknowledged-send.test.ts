import { sendAcknowledged, UnacknowledgedError, type PartitionAnswer } from './acknowledged-send';

interface Message {
  partition: number;
  id: string;
}

const answer = (partition: number, errorCode = 0): PartitionAnswer => ({ topicName: 'events', partition, errorCode });

describe('sendAcknowledged', () => {
  const messages: Message[] = [
    { partition: 0, id: 'a' },
    { partition: 1, id: 'b' },
    { partition: 0, id: 'c' },
    { partition: 2, id: 'd' },
  ];

  it('sends once when every partition answers', async () => {
    const send = jest.fn(async (batch: Message[]) => [...new Set(batch.map((m) => m.partition))].map((p) => answer(p)));
    await sendAcknowledged(messages, { topic: 'events', send, maxSends: 3 });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('sends again, in order, only the records of a partition missing from the answer (kafkajs#1303)', async () => {
    const sent: string[][] = [];
    const unanswered: number[][] = [];
    const send = async (batch: Message[]): Promise<PartitionAnswer[]> => {
      sent.push(batch.map((m) => m.id));
      // The first answer forgets partition 0, as KafkaJS does after a leader moved mid-request.
      return sent.length === 1 ? [answer(1), answer(2)] : [answer(0)];
    };
    await sendAcknowledged(messages, {
      topic: 'events',
      send,
      maxSends: 3,
      onUnanswered: ({ partitions }) => unanswered.push(partitions),
    });
    expect(sent).toEqual([
      ['a', 'b', 'c', 'd'],
      ['a', 'c'],
    ]);
    expect(unanswered).toEqual([[0]]);
  });

  it('counts an answer with an error code, or for another topic, as no answer', async () => {
    const sent: string[][] = [];
    const send = async (batch: Message[]): Promise<PartitionAnswer[]> => {
      sent.push(batch.map((m) => m.id));
      return sent.length === 1
        ? [answer(0), answer(1, 6), { topicName: 'other', partition: 2, errorCode: 0 }]
        : [answer(1), answer(2)];
    };
    await sendAcknowledged(messages, { topic: 'events', send, maxSends: 3 });
    expect(sent[1]).toEqual(['b', 'd']);
  });

  it('fails naming the partitions when they stay unanswered', async () => {
    const send = jest.fn(async () => [answer(1), answer(2)]);
    const failure = sendAcknowledged(messages, { topic: 'events', send, maxSends: 3 });
    await expect(failure).rejects.toBeInstanceOf(UnacknowledgedError);
    await expect(failure).rejects.toThrow('kafka did not acknowledge partition(s) 0 of events');
    expect(send).toHaveBeenCalledTimes(3);
  });
});
