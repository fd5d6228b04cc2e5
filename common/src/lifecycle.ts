import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { errorMessage } from './errors';
import type { Logger } from './logger';

export interface ConnectOptions {
  logger: Logger;
  /** What is being connected, for the log line ("kafka producer"). */
  what: string;
  /** Stops retrying (a shut-down that came during start-up). */
  signal?: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `connect` until it succeeds: exponential backoff with decorrelated jitter, no attempt
 * limit (a service waits for Kafka rather than crash-looping), stopped only by `signal`.
 */
export async function connectWithRetry<T>(
  connect: () => Promise<T>,
  { logger, what, signal, initialDelayMs = 250, maxDelayMs = 10_000 }: ConnectOptions,
): Promise<T> {
  const policy = retry(handleAll, {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs }),
  });
  policy.onRetry(({ delay, attempt, ...reason }) => {
    const error = 'error' in reason ? errorMessage(reason.error) : 'no result';
    logger.warn({ what, attempt, retry_in_ms: Math.round(delay), err: error }, 'connect failed, retrying');
  });
  return policy.execute(() => connect(), signal);
}

export interface ShutdownOptions {
  logger: Logger;
  timeoutMs: number;
  /** Drains and closes everything; the process exits 0 when it resolves, 1 when it throws. */
  shutdown: (signal: NodeJS.Signals) => Promise<void>;
  exit?: (code: number) => void;
}

/**
 * On SIGTERM or SIGINT runs `shutdown` once, and exits when it is done or when `timeoutMs`
 * has passed, whichever comes first. A second signal exits at once.
 */
export function exitOnSignals({
  logger,
  timeoutMs,
  shutdown,
  exit = (code) => process.exit(code),
}: ShutdownOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal, timeout_ms: timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeout_ms: timeoutMs }, 'shut-down took too long, exiting');
      exit(1);
    }, timeoutMs);
    timer.unref();
    const finish = (code: number): void => {
      clearTimeout(timer);
      logger.flush(() => exit(code));
    };
    shutdown(signal).then(
      () => {
        logger.info('shut down');
        finish(0);
      },
      (error: unknown) => {
        logger.error({ err: errorMessage(error) }, 'shut-down failed');
        finish(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
