/**
 * Sends records whose partitions are already chosen, and proves that every partition answered.
 * KafkaJS can resolve a send that lost a partition's records when that partition's leader moved
 * mid-request (kafkajs#1303): the partition is then absent from the answer. Those records are
 * sent again (the idempotent producer and the event ids cover a rare repeat); if they still go
 * unanswered after `maxSends` sends, the batch fails, so its requests get 503, never 202.
 */
export interface PartitionAnswer {
  topicName: string;
  partition: number;
  errorCode: number;
}

export interface AcknowledgedSendOptions<M extends { partition: number }> {
  topic: string;
  send: (messages: M[]) => Promise<PartitionAnswer[]>;
  maxSends: number;
  /** Called before each resend with the partitions that went unanswered. */
  onUnanswered?: (info: { partitions: number[]; messages: number; send: number }) => void;
}

export class UnacknowledgedError extends Error {
  override readonly name = 'UnacknowledgedError';
  constructor(
    readonly topic: string,
    readonly partitions: number[],
  ) {
    super(`kafka did not acknowledge partition(s) ${partitions.join(', ')} of ${topic}`);
  }
}

export async function sendAcknowledged<M extends { partition: number }>(
  messages: M[],
  { topic, send, maxSends, onUnanswered }: AcknowledgedSendOptions<M>,
): Promise<void> {
  let remaining = messages;
  for (let sendNumber = 1; ; sendNumber += 1) {
    const answers = await send(remaining);
    const acknowledged = new Set(
      answers
        .filter((answer) => answer.topicName === topic && answer.errorCode === 0)
        .map((answer) => answer.partition),
    );
    const unanswered = remaining.filter((message) => !acknowledged.has(message.partition));
    if (unanswered.length === 0) return;
    const partitions = [...new Set(unanswered.map((message) => message.partition))].sort((a, b) => a - b);
    if (sendNumber >= maxSends) throw new UnacknowledgedError(topic, partitions);
    onUnanswered?.({ partitions, messages: unanswered.length, send: sendNumber });
    remaining = unanswered;
  }
}
