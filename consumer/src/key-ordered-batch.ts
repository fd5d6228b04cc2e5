export interface KeyOrderedBatchOptions<M> {
  /** Events of the batch running at once, at most. */
  concurrency: number;
  /** Events with the same key run one after the other, in batch order; `null`: no order to keep. */
  keyOf(message: M): string | null;
  /**
   * Finishes the event (handled, dropped, or dead-lettered and acknowledged): returns when it
   * did so at once, else gives a promise of it. A throw or a rejection is its failure.
   */
  process(message: M): void | Promise<void>;
  /** Every event up to and including `message` is finished: its offset may be committed. */
  finishedUpTo(message: M, index: number): void;
  /** Asked before each start; false (a stop, a rebalance) starts nothing more. */
  mayStart(): boolean;
  /** The event at `index` became the oldest unfinished one and has started (lag tracking). */
  oldestStarted?(message: M, index: number): void;
}

/**
 * Runs one partition's batch: events of different keys concurrently, those of one key strictly
 * in batch order, and reports the finished prefix in order, so that the committed offset never
 * passes an unfinished event. Events without a key take any free slot. When an event fails
 * (stop, lost membership, unacknowledged dead letter), nothing more starts, the running ones are
 * waited for, and the first failure is thrown; nothing at or after it is reported finished.
 * When `mayStart` turns false it ends the same way, without an error: the rest comes again.
 */
export async function runKeyOrderedBatch<M>(
  messages: readonly M[],
  { concurrency, keyOf, process, finishedUpTo, mayStart, oldestStarted }: KeyOrderedBatchOptions<M>,
): Promise<void> {
  const count = messages.length;
  if (count === 0) return;
  const done = new Uint8Array(count);
  const started = new Uint8Array(count);
  // Indexes ready to start, lowest first, so that the committable prefix grows as soon as it can.
  const ready: number[] = [];
  // Per busy key, the indexes waiting behind the one running, in batch order.
  const waiting = new Map<string, number[]>();
  const keys: Array<string | null> = new Array<string | null>(count);
  for (let index = 0; index < count; index++) {
    const key = keyOf(messages[index]!);
    keys[index] = key;
    if (key === null) {
      ready.push(index);
      continue;
    }
    const queue = waiting.get(key);
    if (queue) queue.push(index);
    else {
      waiting.set(key, []);
      ready.push(index);
    }
  }

  let next = 0;
  let running = 0;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let settle!: () => void;
  const allSettled = new Promise<void>((resolve) => (settle = resolve));

  const release = (index: number): void => {
    const key = keys[index]!;
    if (key === null) return;
    const queue = waiting.get(key)!;
    const following = queue.shift();
    if (following === undefined) waiting.delete(key);
    else insertSorted(ready, following);
  };

  const advance = (): void => {
    const from = next;
    while (next < count && done[next] === 1) next++;
    if (next === from) return;
    finishedUpTo(messages[next - 1]!, next - 1);
    if (next < count && started[next] === 1) oldestStarted?.(messages[next]!, next);
  };

  const pump = (): void => {
    while (!failure && !stopped && running < concurrency && ready.length > 0) {
      if (!mayStart()) {
        stopped = true;
        break;
      }
      const index = ready.shift()!;
      started[index] = 1;
      running++;
      if (index === next) oldestStarted?.(messages[index]!, index);
      let pending: void | Promise<void>;
      try {
        pending = process(messages[index]!);
      } catch (error) {
        pending = Promise.reject(error);
      }
      if (!pending) {
        // Finished at once: the next one starts in this same loop, no promise made. The finished
        // prefix is reported once the loop ends: nothing can look in between (the loop is
        // synchronous), and a run of such events costs one report, not one each.
        running--;
        done[index] = 1;
        release(index);
        continue;
      }
      pending.then(
        () => {
          running--;
          done[index] = 1;
          release(index);
          advance();
          pump();
          if (running === 0) settle();
        },
        (error: unknown) => {
          running--;
          failure ??= { error };
          if (running === 0) settle();
        },
      );
    }
    advance();
    if (running === 0) settle();
  };

  pump();
  await allSettled;
  if (failure) throw failure.error;
}

function insertSorted(sorted: number[], value: number): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  sorted.splice(low, 0, value);
}
