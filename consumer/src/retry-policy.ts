import { ExponentialBackoff, handleWhen, retry, timeout, TimeoutStrategy } from 'cockatiel';
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
   * whether or not `work` heeds `signal` (the work itself goes on).
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
 * The worker's attempts at one event: cockatiel's retry (decorrelated-jitter exponential
 * backoff) around a cooperative timeout per attempt.
 */
export function createRetryPolicy({
  maxAttempts,
  initialDelayMs,
  maxDelayMs,
  attemptTimeoutMs,
}: RetryPolicySettings): RetryPolicy {
  const backoff = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });
  // Cooperative: it only aborts the attempt's signal; `withinTime` stops waiting for a handler
  // that ignores it. Not on return: the signal tells the handler of a timeout or a stop, no more.
  const attemptTimeout = timeout(attemptTimeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });

  return {
    execute(attempt, { signal: stop, onRetry }) {
      // One retry policy per event: its onRetry hears of this event's retries alone (the worker
      // handles events of several partitions at once). Cockatiel's maxAttempts counts retries.
      // Unref: a backoff timer left behind at a stop (see untilStopped) does not hold the process.
      const retries = retry(handleWhen(isRetriable), { maxAttempts: maxAttempts - 1, backoff }).dangerouslyUnref();
      let waiting = false;
      retries.onRetry(({ attempt: failed, delay, ...reason }) => {
        waiting = true;
        onRetry?.({ attempt: failed, delayMs: delay, error: 'error' in reason ? reason.error : undefined });
      });
      const attempts = retries.execute(({ attempt: retriesSoFar }) => {
        waiting = false;
        if (stop.aborted) throw new StoppingError('worker is stopping');
        // Not derived from the stop: this signal means "out of time" only, so that after a stop
        // the attempt keeps its time to finish and is not reported as timed out.
        return attemptTimeout.execute(({ signal: outOfTime }) =>
          runAttempt(attempt, retriesSoFar + 1, stop, outOfTime, attemptTimeoutMs),
        );
      }, stop);
      return untilStopped(attempts, stop, () => waiting);
    },
  };
}

async function runAttempt<T>(
  attempt: (context: AttemptContext) => Promise<T>,
  number: number,
  stop: AbortSignal,
  outOfTime: AbortSignal,
  timeoutMs: number,
): Promise<T> {
  // The handler's signal: aborted by whichever comes first, the attempt's time running out (its
  // reason a HandlerTimeoutError) or the worker's stop (its reason). One controller and two
  // listeners, not AbortSignal.any: that one costs a weak reference per attempt, which the
  // consumer's profile showed in the garbage collector's share.
  const signal = new AbortController();
  let giveUp: (error: Error) => void = () => undefined;
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
  // Heard through withinTime; an attempt that does not use it must not leave it unhandled.
  givenUp.catch(() => undefined);
  const onTimeout = (): void => {
    const error = new HandlerTimeoutError(`the handler took longer than ${timeoutMs} ms`);
    // Given up first: a handler that rejects as its signal aborts still reports the timeout.
    giveUp(error);
    if (!signal.signal.aborted) signal.abort(error);
  };
  const onStop = (): void => {
    if (!signal.signal.aborted) signal.abort(stop.reason);
  };
  outOfTime.addEventListener('abort', onTimeout, { once: true });
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  try {
    return await attempt({
      attempt: number,
      signal: signal.signal,
      withinTime: (work) => Promise.race([work, givenUp]),
    });
  } finally {
    outOfTime.removeEventListener('abort', onTimeout);
    stop.removeEventListener('abort', onStop);
  }
}

/**
 * Cockatiel's wait between attempts does not end on abort: a stop during one ends it here at
 * once. The run left behind starts no attempt when its timer fires (the stop is checked first)
 * and ends on its own.
 */
function untilStopped<T>(attempts: Promise<T>, stop: AbortSignal, waiting: () => boolean): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onStop = (): void => {
      if (waiting()) reject(new StoppingError('worker is stopping'));
    };
    stop.addEventListener('abort', onStop, { once: true });
    attempts.then(
      (value) => {
        stop.removeEventListener('abort', onStop);
        resolve(value);
      },
      (error: unknown) => {
        stop.removeEventListener('abort', onStop);
        reject(error);
      },
    );
  });
}
