import { encodePendingSend, type PendingSend } from './redrive-record';

/** Commits `offset` of a dead-letter partition in the redrive's consumer group, with a note or none (null). */
export type CommitOffset = (partition: number, offset: bigint, metadata: string | null) => Promise<void>;

/** Chosen dead letters of one partition, sent together. */
export interface Chunk<M> {
  messages: M[];
  /** The offset after the last message looked at: once the chunk is acknowledged, everything before it is done. */
  upTo: bigint;
  /** The rest of the batch (possibly empty), after the full chunks. */
  last: boolean;
}

/**
 * A run's progress on each dead-letter partition it sends from, kept as the redrive's committed
 * offsets. A partition is done once committed up to its cutoff, the offset after its last chosen
 * dead letter. The offset moves only after Kafka acknowledged every chosen dead letter before it;
 * before a send, the same offset is committed again with the note of the pending send.
 */
export class RedriveLedger {
  private readonly chosen = new Set<string>();
  private readonly cutoffs = new Map<number, bigint>();
  private readonly committed = new Map<number, bigint>();
  /** Partitions not yet done; one leaves at the end of a batch that got it done. */
  private readonly open: Set<number>;

  /** `startOf`: a partition's committed offset when the run starts. */
  constructor(
    planned: Iterable<{ partition: number; offset: bigint }>,
    startOf: (partition: number) => bigint,
    private readonly commit: CommitOffset,
  ) {
    for (const { partition, offset } of planned) {
      this.chosen.add(`${partition}/${offset}`);
      if ((this.cutoffs.get(partition) ?? -1n) < offset + 1n) this.cutoffs.set(partition, offset + 1n);
    }
    for (const partition of this.cutoffs.keys()) this.committed.set(partition, startOf(partition));
    this.open = new Set(this.cutoffs.keys());
  }

  /** False for a partition with nothing chosen, or done. */
  isOpen(partition: number): boolean {
    return this.open.has(partition);
  }

  /** Every chosen dead letter before it is acknowledged. */
  committedAt(partition: number): bigint {
    return this.committed.get(partition)!;
  }

  /**
   * The chosen dead letters among a batch of an open partition, from its committed offset up to
   * its cutoff, in chunks of `size`, then the rest. Lazy: each chunk is taken after the one
   * before was sent and committed.
   */
  *chunks<M extends { offset: string }>(partition: number, messages: Iterable<M>, size: number): Generator<Chunk<M>> {
    const cutoff = this.cutoffs.get(partition)!;
    let chunk: M[] = [];
    let upTo = this.committedAt(partition);
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < this.committedAt(partition)) continue;
      if (offset >= cutoff) break;
      upTo = offset + 1n;
      if (!this.chosen.has(`${partition}/${offset}`)) continue;
      chunk.push(message);
      if (chunk.length >= size) {
        yield { messages: chunk, upTo, last: false };
        chunk = [];
      }
    }
    yield { messages: chunk, upTo, last: true };
  }

  /** Before a send of the partition's dead letters up to `end`: the committed offset again, with the note. */
  async notePending(partition: number, end: bigint, targets: PendingSend['targets']): Promise<void> {
    await this.commit(partition, this.committedAt(partition), encodePendingSend({ end, targets }));
  }

  /** After a chunk was acknowledged, or had nothing to send: commits up to `upTo`, which drops the note. */
  async acknowledged(partition: number, upTo: bigint): Promise<void> {
    if (upTo <= this.committedAt(partition)) return;
    await this.commit(partition, upTo, null);
    this.committed.set(partition, upTo);
  }

  /** At the end of a batch of an open partition: true once every partition is done. */
  batchDone(partition: number): boolean {
    if (this.committedAt(partition) >= this.cutoffs.get(partition)!) this.open.delete(partition);
    return this.open.size === 0;
  }
}
