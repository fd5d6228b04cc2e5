import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { isRetriable } from '@event-pipeline/common';

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

export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
  readonly retriable = true;
}

/** The worker stopped before an attempt could start, or while it waited for the next one. */
export class StoppingError extends Error {
  override readonly name = 'StoppingError';
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
   * isRetriable), or has run `maxAttempts` times; then resolves or throws as the last attempt
   * did. `signal` is the worker's stop: no attempt starts after it, a wait for the next one
   * ends at once (StoppingError), and an attempt under way is waited for.
   */
  execute<T>(
    attempt: (context: AttemptContext) => Promise<T>,
    options: { signal: AbortSignal; onRetry?: (notice: RetryNotice) => void },
  ): Promise<T>;
}

/**
 * The worker's attempts at one event: decorrelated-jitter exponential backoff (cockatiel's) between
 * attempts, a cooperative timeout per attempt. Built once per worker: an event that succeeds at
 * once costs one timer and no policy objects (the profile showed cockatiel's retry and timeout
 * policies, built per event, at a sixth of the consumer's CPU).
 */
export function createRetryPolicy({
  maxAttempts,
  initialDelayMs,
  maxDelayMs,
  attemptTimeoutMs,
}: RetryPolicySettings): RetryPolicy {
  const backoff = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });

  return {
    async execute(attempt, { signal: stop, onRetry }) {
      let delays: IBackoff<unknown> | undefined;
      for (let number = 1; ; number++) {
        if (stop.aborted) throw new StoppingError('worker is stopping');
        try {
          return await runAttempt(attempt, number, stop, attemptTimeoutMs);
        } catch (error) {
          // Stopped meanwhile: the attempt was waited for, and a failed one is not tried again.
          if (number >= maxAttempts || stop.aborted || !isRetriable(error)) throw error;
          delays = delays ? delays.next(undefined) : backoff.next();
          onRetry?.({ attempt: number, delayMs: delays.duration, error });
          await waitUnlessStopped(delays.duration, stop);
        }
      }
    },
  };
}

/**
 * One attempt. Its signal is made only when the attempt reads it (most handlers never do): an
 * AbortController and a listener on the stop per event showed in the garbage collector's share.
 * It aborts with a HandlerTimeoutError once the time is out, or with the stop's reason.
 */
async function runAttempt<T>(
  attempt: (context: AttemptContext) => Promise<T>,
  number: number,
  stop: AbortSignal,
  timeoutMs: number,
): Promise<T> {
  let controller: AbortController | undefined;
  let reason: { value: unknown } | undefined;
  let giveUp: ((error: Error) => void) | undefined;
  let timedOut: HandlerTimeoutError | undefined;
  const abort = (value: unknown): void => {
    if (reason) return;
    reason = { value };
    controller?.abort(value);
  };
  const onStop = (): void => abort(stop.reason);
  let timer: NodeJS.Timeout | undefined;
  const onTimeout = (): void => {
    timedOut = new HandlerTimeoutError(`the handler took longer than ${timeoutMs} ms`);
    // Given up first: a handler that rejects as its signal aborts still reports the timeout.
    giveUp?.(timedOut);
    abort(timedOut);
  };
  const context: AttemptContext = {
    attempt: number,
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (reason) controller.abort(reason.value);
        else if (stop.aborted) abort(stop.reason);
        else stop.addEventListener('abort', onStop, { once: true });
      }
      return controller.signal;
    },
    withinTime: (work) => {
      if (timedOut) return Promise.reject(timedOut);
      timer ??= setTimeout(onTimeout, timeoutMs);
      return new Promise((resolve, reject) => {
        giveUp = reject;
        work.then(resolve, reject);
      });
    },
  };
  try {
    return await attempt(context);
  } finally {
    if (timer) clearTimeout(timer);
    if (controller) stop.removeEventListener('abort', onStop);
  }
}

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
