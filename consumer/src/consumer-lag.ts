/** Where this consumer stands on one of its partitions, as it sees it. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** The next offset to process. */
  position: number;
  /** The high watermark of the last batch taken from the partition, minus the position. */
  lagMessages: number;
  /**
   * Seconds since the oldest event not finished was accepted (its record timestamp): the one in
   * hand, or one that failed and comes again; between events, the last finished one. 0 when
   * the partition is caught up. Undefined while nothing of the partition is known to date it.
   */
  lagSeconds: number | undefined;
}

/** What KafkaJS says of a batch when it starts processing it (`consumer.events.START_BATCH_PROCESS`). */
export interface BatchStart {
  topic: string;
  partition: number;
  highWatermark: string;
  /** The first offset of the batch (null when it held nothing at or past the fetch offset). */
  firstOffset: string | null;
  lastOffset: string;
  /** Messages the batch hands out; 0 when all were control records or aborted. */
  batchSize: number;
}

interface PartitionState {
  topic: string;
  partition: number;
  highWatermark?: number;
  position?: number;
  /** The event in hand, or one that failed (it comes again); its offset and record timestamp. */
  unfinished?: { offset: number; timestamp: number };
  lastFinishedTimestamp?: number;
}

/**
 * The consumer's own lag, per assigned partition, from what KafkaJS hands it: the batches it
 * starts (with the partition's high watermark at fetch time) and the events it takes and
 * finishes. Read at scrape time, so the time lag grows while an event is stuck. Partitions
 * taken from this member in a rebalance drop out; news about them that arrives late (an event
 * finishing after the rebalance) is ignored.
 */
export class ConsumerLag {
  private readonly partitions = new Map<string, PartitionState>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The partitions of this member after a (re)join, as in GROUP_JOIN's `memberAssignment`. Every
   * one starts afresh, a partition it had before included: another member may have moved it on
   * meanwhile, and KafkaJS starts no batch on a partition with nothing new, so old state would
   * stay (an event left unfinished would date a lag that grows for ever). A partition's series
   * come back with its next batch.
   */
  assign(assignment: Record<string, readonly number[]>): void {
    this.partitions.clear();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) this.partitions.set(keyOf(topic, partition), { topic, partition });
    }
  }

  /** No partitions: the consumer stopped. */
  clear(): void {
    this.partitions.clear();
  }

  get assignedPartitions(): number {
    return this.partitions.size;
  }

  batchStarted(batch: BatchStart): void {
    const state = this.partitions.get(keyOf(batch.topic, batch.partition));
    if (!state) return;
    state.highWatermark = Number(batch.highWatermark);
    // A batch of only control records or aborted messages is passed over whole.
    state.position =
      batch.batchSize > 0 && batch.firstOffset !== null ? Number(batch.firstOffset) : Number(batch.lastOffset) + 1;
    if (state.unfinished && state.unfinished.offset < state.position) delete state.unfinished;
  }

  /** An event is taken. Until it finishes (a failure does not finish it: it comes again) it dates the lag. */
  messageStarted(topic: string, partition: number, offset: string, timestamp: string): void {
    const state = this.partitions.get(keyOf(topic, partition));
    if (!state) return;
    state.position = Number(offset);
    state.unfinished = { offset: Number(offset), timestamp: Number(timestamp) };
  }

  /** An event is done: handled, dropped as a duplicate, or dead-lettered. */
  messageFinished(topic: string, partition: number, offset: string, timestamp: string): void {
    const state = this.partitions.get(keyOf(topic, partition));
    if (!state) return;
    state.position = Number(offset) + 1;
    state.lastFinishedTimestamp = Number(timestamp);
    delete state.unfinished;
  }

  /** Every assigned partition whose position and high watermark are known (from its first batch on). */
  snapshot(): PartitionLag[] {
    const now = this.now();
    const lags: PartitionLag[] = [];
    for (const state of this.partitions.values()) {
      if (state.position === undefined || state.highWatermark === undefined) continue;
      const caughtUp = state.unfinished === undefined && state.position >= state.highWatermark;
      const since = state.unfinished?.timestamp ?? state.lastFinishedTimestamp;
      lags.push({
        topic: state.topic,
        partition: state.partition,
        position: state.position,
        lagMessages: Math.max(0, state.highWatermark - state.position),
        // Clocks of the producer's and the consumer's hosts may differ a little: never below 0.
        lagSeconds: caughtUp ? 0 : since === undefined ? undefined : Math.max(0, now - since) / 1000,
      });
    }
    return lags;
  }
}

// Topic names cannot hold '/', so it separates the two.
function keyOf(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
