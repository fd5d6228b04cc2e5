import {
  CompressionTypes,
  Partitioners,
  type Admin,
  type Kafka,
  type Message,
  type PartitionMetadata,
  type Producer,
} from 'kafkajs';
import { KAFKA_RETRIES } from './kafka';
import { PipelineError } from './errors';

/** A record whose partition was chosen before the send (with `partitionOf`), so its answer can be checked. */
export type PartitionedMessage = Message & { partition: number };

export interface ReliableProducerOptions {
  kafka: Kafka;
  /** The one topic this producer writes to. */
  topic: string;
  compression?: CompressionTypes;
  /** Sends of a record whose partition goes unanswered before `send` gives up on it. */
  maxSends?: number;
  /** Before each resend, with the partitions that went unanswered. */
  onUnanswered?: (info: { partitions: number[]; messages: number; send: number }) => void;
  /** After a failed send, once a new producer (a new producer id) took over. */
  onRenewed?: () => void;
}

/**
 * The one path by which the services write to Kafka when a record must not be lost: the
 * publisher's batches and the consumer's dead letters. It holds three guarantees, each against
 * a way KafkaJS can lose a record it reported as sent:
 * - partitions are chosen here (`partitionOf`), so every acknowledgement can be checked against them;
 * - `send` resolves only when every partition of its records answered without error, and sends
 *   the records of unanswered partitions again (kafkajs#1303);
 * - after a failed `send`, the next one goes out under a new idempotent producer.
 */
export interface ReliableProducer {
  /** Connects the producer and the admin client that reads the topic's partitions. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * Asks Kafka for the topic's partitions, one request at a time (a black-holed broker must not
   * pile them up), and keeps the answer for `partitionOf` unless it is empty.
   */
  refreshPartitions(): Promise<PartitionMetadata[]>;
  /**
   * The partition Kafka's Java client would choose (murmur2 of the key; round robin over the
   * partitions with a leader for a record without one), among the partitions last refreshed.
   * Meaningless before the first refresh found any: `send` then refuses the record.
   */
  partitionOf(message: Message): number;
  /**
   * Resolves once Kafka acknowledged every record (acks=all). Rejects when a send failed, or
   * with UnacknowledgedError when a partition stayed unanswered after `maxSends` sends.
   */
  send(messages: readonly PartitionedMessage[]): Promise<void>;
}

/** Some records' partitions never answered: they are not known to be written. Another attempt may pass. */
export class UnacknowledgedError extends PipelineError {
  readonly retriable = true;
  constructor(
    readonly topic: string,
    readonly partitions: number[],
  ) {
    super(`kafka did not acknowledge partition(s) ${partitions.join(', ')} of ${topic}`);
  }
}

export function createReliableProducer({
  kafka,
  topic,
  compression = CompressionTypes.None,
  maxSends = 3,
  onUnanswered,
  onRenewed,
}: ReliableProducerOptions): ReliableProducer {
  if (!Number.isInteger(maxSends) || maxSends < 1) {
    throw new Error(`maxSends must be a whole number from 1, not ${maxSends}`);
  }
  const producer = createIdempotentProducer(kafka, onRenewed);
  const admin: Admin = kafka.admin({ retry: KAFKA_RETRIES.partitionLookup });
  const partitioner = Partitioners.DefaultPartitioner();
  let partitionMetadata: PartitionMetadata[] = [];
  let metadataRequest: Promise<PartitionMetadata[]> | undefined;

  return {
    async connect() {
      await Promise.all([producer.connect(), admin.connect()]);
    },

    async disconnect() {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },

    refreshPartitions: () =>
      (metadataRequest ??= admin
        .fetchTopicMetadata({ topics: [topic] })
        .then((metadata) => {
          const partitions = metadata.topics[0]?.partitions ?? [];
          if (partitions.length > 0) partitionMetadata = partitions;
          return partitions;
        })
        .finally(() => (metadataRequest = undefined))),

    partitionOf: (message) => partitioner({ topic, partitionMetadata, message }),

    async send(messages) {
      const unknown = messages.find((message) => !Number.isInteger(message.partition) || message.partition < 0);
      if (unknown) throw new Error(`no partition of ${topic} chosen for a record: its partitions are not known yet`);
      try {
        await sendAcknowledged(messages, topic, maxSends, onUnanswered, (batch) =>
          producer.send({ topic, messages: batch, acks: -1, compression }),
        );
      } catch (error) {
        // Whether the failed send threw or went unanswered, the broker may have written what
        // KafkaJS no longer counts as sent.
        producer.sequencesUncertain();
        throw error;
      }
    },
  };
}

interface PartitionAnswer {
  topicName: string;
  partition: number;
  errorCode: number;
}

/**
 * Sends the records and proves that every partition answered. KafkaJS can resolve a send that
 * lost a partition's records when that partition's leader moved mid-request (kafkajs#1303): the
 * partition is then absent from the answer. Those records are sent again, in order, under the
 * same producer id and sequence numbers (KafkaJS did not count them as sent), so a broker that
 * did write them takes the resend for a duplicate; the event ids cover a rare repeat. If they
 * still go unanswered after `maxSends` sends, the send fails, so the publisher's requests get
 * 503 (never 202) and a dead letter's original is not committed.
 */
async function sendAcknowledged<M extends PartitionedMessage>(
  messages: readonly M[],
  topic: string,
  maxSends: number,
  onUnanswered: ReliableProducerOptions['onUnanswered'],
  send: (messages: M[]) => Promise<PartitionAnswer[]>,
): Promise<void> {
  let remaining = messages as M[];
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

interface IdempotentProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send: Producer['send'];
  /** The next send must go out under a new producer. */
  sequencesUncertain(): void;
}

/**
 * An idempotent producer for acks=all sends that keeps retrying a batch, as Kafka's own client
 * does (KAFKA_RETRIES.producer): the caller bounds what it waits.
 *
 * After a failed send, the next one goes out under a new KafkaJS producer, so a new producer id
 * (where Kafka's Java client bumps its epoch). KafkaJS takes back the sequence numbers of a send
 * that failed, though a broker may have written it (the connection dropped before the answer);
 * a later batch reusing them is then taken by the broker for a duplicate: acknowledged, not
 * written. The reliability suite lost accepted events that way when every broker died and came
 * back; a dead letter could be lost the same way, and its original committed. Concurrent sends
 * after a failure share one replacement; one that cannot connect leaves the next send to try again.
 */
function createIdempotentProducer(kafka: Kafka, onRenewed?: () => void): IdempotentProducer {
  const create = (): Producer =>
    kafka.producer({
      idempotent: true,
      retry: KAFKA_RETRIES.producer,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer = create();
  let uncertain = false;
  let renewing: Promise<void> | undefined;
  const renew = async (): Promise<void> => {
    await producer.disconnect().catch(() => undefined);
    const next = create();
    try {
      await next.connect();
    } catch (error) {
      await next.disconnect().catch(() => undefined);
      throw error;
    }
    producer = next;
    uncertain = false;
    onRenewed?.();
  };
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    sequencesUncertain: () => void (uncertain = true),
    async send(record) {
      if (uncertain) await (renewing ??= renew().finally(() => (renewing = undefined)));
      else if (renewing) await renewing;
      try {
        return await producer.send(record);
      } catch (error) {
        uncertain = true;
        throw error;
      }
    },
  };
}
