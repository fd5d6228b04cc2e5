import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { errorMessage } from './errors';
import type { Logger } from './logger';
import type { MetricsRegistry } from './metrics';
import { isRetriable } from './retriable';
import { flushTelemetry } from './telemetry';

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
 * limit (a service waits for Kafka rather than crash-looping), stopped only by `signal` or by
 * an answer from Kafka that retrying cannot change (then it throws, and the service exits
 * with that reason).
 */
export async function connectWithRetry<T>(
  connect: () => Promise<T>,
  { logger, what, signal, initialDelayMs = 250, maxDelayMs = 10_000 }: ConnectOptions,
): Promise<T> {
  const policy = retry(handleWhen(isRetriable), {
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
 * Runs `shutdown` once, on the first call of the returned function, and exits when it is done
 * or when `timeoutMs` has passed, whichever comes first. Later calls return false and do
 * nothing: the caller decides what a second request to stop means.
 */
export function shutdownOnce({
  logger,
  timeoutMs,
  shutdown,
  exit = (code) => process.exit(code),
}: ShutdownOptions): (signal: NodeJS.Signals) => boolean {
  let stopping = false;
  return (signal) => {
    if (stopping) return false;
    stopping = true;
    logger.info({ signal, timeout_ms: timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeout_ms: timeoutMs }, 'shut-down took too long, exiting');
      exit(1);
    }, timeoutMs);
    timer.unref();
    const finish = (code: number): void => {
      // The spans of the drain itself are the last to go out.
      void flushTelemetry()
        .then(
          () => undefined,
          (error: unknown) => logger.warn({ err: errorMessage(error) }, 'telemetry not flushed'),
        )
        .finally(() => {
          clearTimeout(timer);
          logger.flush(() => exit(code));
        });
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
    return true;
  };
}

/**
 * On SIGTERM or SIGINT runs `shutdown` once, and exits when it is done or when `timeoutMs`
 * has passed, whichever comes first. A second signal exits at once.
 */
export function exitOnSignals(options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const begin = shutdownOnce({ ...options, exit });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (begin(signal)) return;
    options.logger.warn({ signal }, 'second signal, exiting now');
    exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Starts listening and resolves with the bound port (useful with port 0). */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export interface BackgroundStart {
  /** Resolves once started; rejects if start failed (never after `abort`). */
  started: Promise<void>;
  /** Stops a start still under way (shut-down came first). */
  abort(): void;
}

/**
 * Runs a service's start-up (connecting to Kafka, with retries) while it already serves its
 * health endpoints: live at once, ready when `start` is done.
 */
export function startInBackground(start: (signal: AbortSignal) => Promise<void>, logger: Logger): BackgroundStart {
  const controller = new AbortController();
  const started = start(controller.signal).then(
    () => logger.info('started'),
    (error: unknown) => {
      if (controller.signal.aborted) return;
      logger.error({ err: errorMessage(error) }, 'start failed');
      throw error;
    },
  );
  // The caller may never await it; a failure is logged above and surfaces through `started`.
  started.catch(() => undefined);
  return { started, abort: () => controller.abort() };
}

/** A started service: its HTTP server, its metrics, when it became ready, how to stop it. */
export interface RunningService {
  readonly server: Server;
  readonly port: number;
  readonly registry: MetricsRegistry;
  /** Resolves once the service does its work (connected to Kafka, topics in place). */
  readonly started: Promise<void>;
  /** Graceful shut-down; see each service for what it drains. */
  stop(): Promise<void>;
}
