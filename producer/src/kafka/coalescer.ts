/**
 * Coalesces the events of concurrent requests into few produce requests. KafkaJS has no
 * linger setting: every send() is one Produce request, so this is where batching happens.
 *
 * One batch is in flight at a time; while it is, new events queue and leave together as the
 * next batch (up to `maxItems` and `maxBytes`). The busier the producer, the larger the
 * batches, with no fixed delay when it is idle. Ordering holds: batches leave in arrival order
 * and the next waits for the previous acknowledgement.
 */
export interface CoalescerOptions<T> {
  /** Sends one batch; resolves when Kafka acknowledged all of it. */
  send: (batch: T[]) => Promise<void>;
  maxItems: number;
  maxBytes: number;
  /** Extra wait for a batch to fill while nothing is in flight; 0 sends at the next turn of the event loop. */
  lingerMs: number;
  /** After each batch: its size, its first item, how long it took, and its failure if it failed. */
  onBatch?: (stats: { items: number; first: T; bytes: number; durationMs: number; error?: unknown }) => void;
}

interface Ticket {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Entry<T> {
  item: T;
  size: number;
  ticket: Ticket;
}

export class SendCoalescer<T> {
  private readonly queue: Array<Entry<T>> = [];
  private queuedBytes = 0;
  private inFlightItems = 0;
  private inFlightBytes = 0;
  private inFlightSince: number | undefined;
  private sending = false;
  private scheduled = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: CoalescerOptions<T>) {}

  /** Items queued or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlightItems;
  }

  /** Bytes (as given to `submit`) queued or in flight. */
  get pendingBytes(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  /** How long the batch in flight has been waiting for its acknowledgement, 0 when none is. */
  inFlightAgeMs(now = performance.now()): number {
    return this.inFlightSince === undefined ? 0 : now - this.inFlightSince;
  }

  /**
   * Queues items (with their sizes in bytes, by index) and resolves when every one of them was
   * sent, or rejects with the first failure. `abandon` drops those not yet sent (the caller
   * gave up waiting).
   */
  submit(items: T[], sizes: readonly number[]): { done: Promise<void>; abandon: () => void } {
    let ticket!: Ticket;
    const done = new Promise<void>((resolve, reject) => {
      ticket = { remaining: items.length, settled: false, resolve, reject };
    });
    items.forEach((item, index) => {
      const size = sizes[index] ?? 0;
      this.queue.push({ item, size, ticket });
      this.queuedBytes += size;
    });
    if (items.length === 0) ticket.resolve();
    this.schedule();
    return {
      done,
      abandon: () => {
        ticket.settled = true;
      },
    };
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.sending || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    if (this.options.lingerMs > 0 && this.queue.length < this.options.maxItems) {
      this.lingerTimer = setTimeout(() => this.sendNext(), this.options.lingerMs);
    } else {
      setImmediate(() => this.sendNext());
    }
  }

  private takeBatch(): Array<Entry<T>> {
    const batch: Array<Entry<T>> = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < this.options.maxItems) {
      const next = this.queue[0]!;
      if (next.ticket.settled) {
        this.queue.shift();
        this.queuedBytes -= next.size;
        continue;
      }
      if (batch.length > 0 && bytes + next.size > this.options.maxBytes) break;
      batch.push(next);
      bytes += next.size;
      this.queue.shift();
      this.queuedBytes -= next.size;
    }
    return batch;
  }

  private sendNext(): void {
    this.scheduled = false;
    clearTimeout(this.lingerTimer);
    const batch = this.takeBatch();
    if (batch.length === 0) {
      this.notifyIdle();
      return;
    }
    const bytes = batch.reduce((sum, entry) => sum + entry.size, 0);
    this.sending = true;
    this.inFlightItems = batch.length;
    this.inFlightBytes = bytes;
    this.inFlightSince = performance.now();
    const report = (error?: unknown): void => {
      try {
        const durationMs = performance.now() - this.inFlightSince!;
        this.options.onBatch?.({
          items: batch.length,
          first: batch[0]!.item,
          bytes,
          durationMs,
          ...(error === undefined ? {} : { error }),
        });
      } catch {
        // Reporting must never keep tickets from settling.
      }
    };
    this.options
      .send(batch.map((entry) => entry.item))
      .then(
        () => {
          report();
          for (const { ticket } of batch) {
            ticket.remaining -= 1;
            if (ticket.remaining === 0 && !ticket.settled) {
              ticket.settled = true;
              ticket.resolve();
            }
          }
        },
        (error: unknown) => {
          report(error);
          for (const { ticket } of batch) {
            if (ticket.settled) continue;
            ticket.settled = true;
            ticket.reject(error);
          }
        },
      )
      .finally(() => {
        this.sending = false;
        this.inFlightItems = 0;
        this.inFlightBytes = 0;
        this.inFlightSince = undefined;
        this.schedule();
        this.notifyIdle();
      });
  }

  private notifyIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
