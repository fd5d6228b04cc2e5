import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { KAFKA_RETRIES, PipelineError } from '@event-pipeline/common';

/** Offsets `from` (inclusive) to `to` (exclusive) of one partition. */
export interface PartitionRange {
  partition: number;
  from: bigint;
  to: bigint;
}

export interface ReadOptions {
  /** The consumer group's name starts with it; a random suffix makes it this read's own. */
  groupPrefix: string;
  /** A read that gets no record for this long fails instead of waiting for ever. */
  idleTimeoutMs?: number;
}

/**
 * Reads the given offset ranges of a topic and returns once each is read to its end. KafkaJS
 * reads only through a consumer group: this one is the read's own and commits nothing, so
 * Kafka forgets it when the read ends, and no other group's offsets move.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  onRecords: (partition: number, messages: KafkaMessage[]) => Promise<void> | void,
  { groupPrefix, idleTimeoutMs = 60_000 }: ReadOptions,
): Promise<void> {
  const next = new Map(ranges.filter((range) => range.from < range.to).map((range) => [range.partition, range.from]));
  const ends = new Map(ranges.map((range) => [range.partition, range.to]));
  if (next.size === 0) return;
  const consumer = kafka.consumer({
    groupId: `${groupPrefix}-${randomUUID().slice(0, 8)}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    retry: KAFKA_RETRIES.dlqCommand,
  });
  let settle!: { resolve: () => void; reject: (error: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let lastProgress = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > idleTimeoutMs) {
      settle.reject(new Error(`reading ${topic}: no record for ${idleTimeoutMs / 1000} s before the end`));
    }
  }, 1000);
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) settle.reject(payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch }) => {
        const position = next.get(batch.partition);
        const end = ends.get(batch.partition);
        if (position === undefined || end === undefined) return;
        const wanted = batch.messages.filter((message) => {
          const offset = BigInt(message.offset);
          return offset >= position && offset < end;
        });
        lastProgress = Date.now();
        if (wanted.length > 0) await onRecords(batch.partition, wanted);
        const after = BigInt(batch.lastOffset()) + 1n;
        if (after > position) next.set(batch.partition, after);
        if (after >= end) next.delete(batch.partition);
        if (next.size === 0) settle.resolve();
      },
    });
    for (const [partition, from] of next) consumer.seek({ topic, partition, offset: String(from) });
    await done;
  } finally {
    clearInterval(watchdog);
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Per partition: the oldest offset still held (`low`) and the next to be written (`high`). */
export async function topicOffsets(
  kafka: Kafka,
  topic: string,
): Promise<Array<{ partition: number; low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) throw new TopicMissingError(topic);
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map(({ partition, low, high }) => ({ partition, low: BigInt(low), high: BigInt(high) }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

export class TopicMissingError extends PipelineError {
  readonly retriable = false;
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist`);
  }
}

/** Every record of the topic up to its current end, partition by partition. */
export async function readWholeTopic(
  kafka: Kafka,
  topic: string,
  onRecords: (partition: number, messages: KafkaMessage[]) => Promise<void> | void,
  options: ReadOptions,
): Promise<void> {
  const offsets = await topicOffsets(kafka, topic);
  await readRanges(
    kafka,
    topic,
    offsets.map(({ partition, low, high }) => ({ partition, from: low, to: high })),
    onRecords,
    options,
  );
}
