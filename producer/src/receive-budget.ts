export interface ReceiveBudgetOptions {
  /** Bodies up to this size may take the whole budget (64 KiB by default). */
  smallBodyBytes?: number;
  /** Share of the budget that larger bodies may hold together (three quarters by default). */
  largeBodiesShare?: number;
}

/**
 * The bytes of request bodies being received at once, bounded. A body takes its declared size
 * (its Content-Length, or the body limit when it comes chunked) before a byte of it is read and
 * gives it back once it is read and parsed, so that many slow clients holding large bodies
 * cannot take the process past its memory: a body that does not fit is refused at once.
 *
 * Large bodies may hold only part of the budget together: the rest is kept for small ones, so a
 * flood of large bodies leaves room for the ordinary one-event requests of other clients.
 */
export class ReceiveBudget {
  /** The most that bodies above `smallBodyBytes` may hold together. */
  readonly largeBodiesBytes: number;
  private readonly smallBodyBytes: number;
  private used = 0;
  private usedByLarge = 0;

  constructor(
    readonly capacityBytes: number,
    { smallBodyBytes = 64 * 1024, largeBodiesShare = 0.75 }: ReceiveBudgetOptions = {},
  ) {
    if (!(capacityBytes > 0)) throw new RangeError(`the budget must be positive, got ${capacityBytes}`);
    this.smallBodyBytes = smallBodyBytes;
    this.largeBodiesBytes = Math.floor(capacityBytes * largeBodiesShare);
  }

  /** Bytes held by bodies being received now. */
  get usedBytes(): number {
    return this.used;
  }

  /**
   * Takes `bytes` for one body: answers the function that gives them back (once, however often
   * it is called), or undefined when the body does not fit.
   */
  take(bytes: number): (() => void) | undefined {
    const large = bytes > this.smallBodyBytes;
    if (this.used + bytes > this.capacityBytes) return undefined;
    if (large && this.usedByLarge + bytes > this.largeBodiesBytes) return undefined;
    this.used += bytes;
    if (large) this.usedByLarge += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
      if (large) this.usedByLarge -= bytes;
    };
  }
}
