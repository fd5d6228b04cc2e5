import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { isRetriable, PipelineError } from '@event-pipeline/common';

export interface RetrySettings {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface RetryPolicySettings extends RetrySettings {
  /** One attempt longer than this fails, retriably, with HandlerTimeoutError. */
  attemptTimeoutMs: number;
}

export class HandlerTimeoutError extends PipelineError {
  readonly retriable = true;
}

/** The worker stopped before an attempt could start, or while it waited for the next one. */
export class StoppingError extends PipelineError {
  /** Not the event's failure: it is left uncommitted, for after the restart. */
  readonly retriable = true;
}

export interface AttemptContext {
  /** 1 on the first attempt. */
  attempt: number;
  /** Aborts when the attempt's time is out (reason: HandlerTimeoutError) or when the worker stops. */
  signal: AbortSignal;
  /**
   * Settles as `work` does, or rejects with HandlerTimeoutError once the attempt's time is out,
   * whether or not `work` heeds `signal` (the work itself goes on). The attempt's time runs from
   * this call: an attempt that finishes without waiting (a synchronous handler) needs no timer.
   */
  withinTime<T>(work: Promise<T>): Promise<T>;
}

export interface RetryNotice {
  /** The attempt that failed, 1 for the first. */
  attempt: number;
  /** The wait before the next attempt. */
  delayMs: number;
  error: unknown;
}

export interface RetryPolicy {
  /**
   * Runs `attempt` until it succeeds, fails with an error that is not retriable (see
   * isRetriable), or has run `maxAttempts` times; then returns or throws as the last attempt
   * did. `signal` is the worker's stop: no attempt starts after it, a wait for the next one
   * ends at once (StoppingError), and an attempt under way is waited for.
   *
   * An attempt that finishes without waiting (returns a value, not a promise) at the first try
   * makes the whole run synchronous: its value comes back as is, no promise made. Anything
   * else (a promise, a failure) gives a promise.
   */
  execute<T>(
    attempt: (context: AttemptContext) => T | Promise<T>,
    options: { signal: AbortSignal; onRetry?: ((notice: RetryNotice) => void) | undefined },
  ): T | Promise<T>;
}

/**
 * The worker's attempts at one event: decorrelated-jitter exponential backoff (cockatiel's) between
 * attempts, a cooperative timeout per attempt. Built once per worker: an event that succeeds at
 * once costs one attempt object and no promise (the profile showed cockatiel's retry and timeout
 * policies, built per event, at a sixth of the consumer's CPU; then the promise and closures of
 * each layer, a quarter of what the consumer does per event).
 */
export function createRetryPolicy({
  maxAttempts,
  initialDelayMs,
  maxDelayMs,
  attemptTimeoutMs,
}: RetryPolicySettings): RetryPolicy {
  const backoff = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });

  /** The attempts after a first one that failed (or is still running, as `first`). */
  async function goOn<T>(
    attempt: (context: AttemptContext) => T | Promise<T>,
    stop: AbortSignal,
    onRetry: ((notice: RetryNotice) => void) | undefined,
    first: { running: Promise<T> } | { failed: unknown },
  ): Promise<T> {
    let delays: IBackoff<unknown> | undefined;
    for (let number = 1; ; number++) {
      try {
        if (number === 1) {
          if ('failed' in first) throw first.failed;
          return await first.running;
        }
        if (stop.aborted) throw new StoppingError('worker is stopping');
        return await runAttempt(attempt, number, stop, attemptTimeoutMs);
      } catch (error) {
        // Stopped meanwhile: the attempt was waited for, and a failed one is not tried again.
        if (number >= maxAttempts || stop.aborted || !isRetriable(error)) throw error;
        delays = delays ? delays.next(undefined) : backoff.next();
        onRetry?.({ attempt: number, delayMs: delays.duration, error });
        await waitUnlessStopped(delays.duration, stop);
      }
    }
  }

  return {
    execute(attempt, { signal: stop, onRetry }) {
      if (stop.aborted) return Promise.reject(new StoppingError('worker is stopping'));
      let outcome;
      try {
        outcome = runAttempt(attempt, 1, stop, attemptTimeoutMs);
      } catch (error) {
        return goOn(attempt, stop, onRetry, { failed: error });
      }
      return outcome instanceof Promise ? goOn(attempt, stop, onRetry, { running: outcome }) : outcome;
    },
  };
}

/**
 * One attempt's context. Its signal is made only when the attempt reads it (most handlers never
 * do): an AbortController and a listener on the stop per event showed in the garbage
 * collector's share. It aborts with a HandlerTimeoutError once the time is out, or with the
 * stop's reason. A class, not closures: an attempt that ends at once allocates this alone.
 */
class Attempt implements AttemptContext {
  #controller: AbortController | undefined;
  #reason: { value: unknown } | undefined;
  #giveUp: ((error: Error) => void) | undefined;
  #timedOut: HandlerTimeoutError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onStop: (() => void) | undefined;
  #withinTime: AttemptContext['withinTime'] | undefined;

  constructor(
    readonly attempt: number,
    private readonly stop: AbortSignal,
    private readonly timeoutMs: number,
  ) {}

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason.value);
      else if (this.stop.aborted) this.#abort(this.stop.reason);
      else {
        this.#onStop = () => this.#abort(this.stop.reason);
        this.stop.addEventListener('abort', this.#onStop, { once: true });
      }
    }
    return this.#controller.signal;
  }

  /** Bound once read, so that it may be taken apart from its context (`({ withinTime }) => ...`). */
  get withinTime(): AttemptContext['withinTime'] {
    return (this.#withinTime ??= <T>(work: Promise<T>): Promise<T> => {
      if (this.#timedOut) return Promise.reject(this.#timedOut);
      this.#timer ??= setTimeout(() => this.#onTimeout(), this.timeoutMs);
      return new Promise<T>((resolve, reject) => {
        this.#giveUp = reject;
        work.then(resolve, reject);
      });
    });
  }

  /** The attempt is over: no timer, no listener left behind. */
  end(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onStop) this.stop.removeEventListener('abort', this.#onStop);
  }

  #abort(value: unknown): void {
    if (this.#reason) return;
    this.#reason = { value };
    this.#controller?.abort(value);
  }

  #onTimeout(): void {
    this.#timedOut = new HandlerTimeoutError(`the handler took longer than ${this.timeoutMs} ms`);
    // Given up first: a handler that rejects as its signal aborts still reports the timeout.
    this.#giveUp?.(this.#timedOut);
    this.#abort(this.#timedOut);
  }
}

/** One attempt: synchronous when `attempt` returns a value, else a promise of it. */
function runAttempt<T>(
  attempt: (context: AttemptContext) => T | Promise<T>,
  number: number,
  stop: AbortSignal,
  timeoutMs: number,
): T | Promise<T> {
  const context = new Attempt(number, stop, timeoutMs);
  let outcome: T | Promise<T>;
  try {
    outcome = attempt(context);
  } catch (error) {
    context.end();
    throw error;
  }
  if (!isThenable(outcome)) {
    context.end();
    return outcome;
  }
  return Promise.resolve(outcome).finally(() => context.end());
}

export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';

/** The wait between attempts; a stop ends it at once (StoppingError), leaving no timer behind. */
function waitUnlessStopped(delayMs: number, stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (stop.aborted) {
      reject(new StoppingError('worker is stopping'));
      return;
    }
    const onStop = (): void => {
      clearTimeout(timer);
      reject(new StoppingError('worker is stopping'));
    };
    const timer = setTimeout(() => {
      stop.removeEventListener('abort', onStop);
      resolve();
    }, delayMs);
    // A backoff does not hold the process up at exit.
    timer.unref();
    stop.addEventListener('abort', onStop, { once: true });
  });
}
