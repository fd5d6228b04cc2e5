/** Counts requests in progress, so a shut-down can wait for the ones already accepted. */
export class RequestTracker {
  private active = 0;
  private waiters: Array<() => void> = [];

  get inProgress(): number {
    return this.active;
  }

  enter(): void {
    this.active += 1;
  }

  leave(): void {
    this.active -= 1;
    if (this.active > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when no request is in progress, or with false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
