import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import {
  EnvelopeError,
  errorMessage,
  errorName,
  fromKafkaRecord,
  type DecodedRecord,
  type Logger,
} from '@event-pipeline/common';
import { isRetriable, type EventHandler } from './handler';
import type { ConsumerMetrics } from './metrics';
import type { DeadLetterSink, InboundMessage, MessageControl, MessageSource } from './source';

export interface RetrySettings {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface WorkerOptions {
  source: MessageSource;
  deadLetter: DeadLetterSink;
  handler: EventHandler;
  logger: Logger;
  metrics: ConsumerMetrics;
  retry: RetrySettings;
  now?: () => number;
}

export interface Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
  isReady(): boolean;
}

class StoppingError extends Error {
  override readonly name = 'StoppingError';
}

/**
 * Consumes events, runs the handler, retries retriable failures with backoff, dead-letters the
 * rest. A message is acknowledged (and its offset committed) only after the handler succeeded
 * or its dead-letter copy was acknowledged, so nothing is skipped; a poison message holds its
 * partition for at most the retry budget.
 */
export function createWorker({
  source,
  deadLetter,
  handler,
  logger,
  metrics,
  retry: settings,
  now = Date.now,
}: WorkerOptions): Worker {
  const stopping = new AbortController();
  const log = logger.child({ component: 'worker' });

  const policy: RetryPolicy = retry(handleWhen(isRetriable), {
    // cockatiel counts retries after the first call.
    maxAttempts: settings.maxAttempts - 1,
    backoff: new ExponentialBackoff({ initialDelay: settings.initialDelayMs, maxDelay: settings.maxDelayMs }),
  });

  const processMessage = async (message: InboundMessage, control: MessageControl): Promise<void> => {
    const started = now();
    const position = { partition: message.partition, offset: message.offset };
    let attempts = 0;
    let decoded: DecodedRecord | undefined;
    try {
      decoded = fromKafkaRecord(message);
      const { event, acceptedAt } = decoded;
      const key = message.key?.toString('utf8') ?? null;
      await policy.execute(async ({ attempt }) => {
        attempts = attempt + 1;
        if (attempt > 0) {
          metrics.processed.inc({ outcome: 'retried' });
          // Backoff waits are silent on the wire; keep the group membership alive.
          await control.heartbeat();
        }
        if (stopping.signal.aborted) throw new StoppingError('worker is stopping');
        await handler.handle(event, {
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          key,
          headers: message.headers,
          acceptedAt,
          attempt: attempts,
          logger: log,
          signal: stopping.signal,
        });
      }, stopping.signal);
      metrics.processed.inc({ outcome: 'success' });
      metrics.endToEndLatency.observe(Math.max(0, now() - acceptedAt) / 1000);
    } catch (error) {
      if (stopping.signal.aborted) {
        // Not committed: the next owner of the partition processes it again.
        log.info({ ...position, attempts }, 'left unfinished at shut-down');
        throw error;
      }
      const reason =
        error instanceof EnvelopeError ? 'unreadable' : isRetriable(error) ? 'retries exhausted' : 'not retriable';
      log.warn(
        {
          ...position,
          event_id: decoded?.event.id,
          attempts,
          reason,
          err: errorMessage(error),
          error_name: errorName(error),
        },
        'dead-lettering event',
      );
      try {
        await deadLetter.publish(message, { error, attempts: Math.max(1, attempts), failedAt: new Date(now()) });
      } catch (dlqError) {
        metrics.deadLetterFailures.inc();
        log.error({ ...position, err: errorMessage(dlqError) }, 'dead-letter write failed');
        throw dlqError;
      }
      metrics.processed.inc({ outcome: 'dead_lettered' });
      if (decoded) metrics.endToEndLatency.observe(Math.max(0, now() - decoded.acceptedAt) / 1000);
    } finally {
      metrics.processingDuration.observe((now() - started) / 1000);
    }
  };

  return {
    start: () => source.start(processMessage),
    async stop() {
      stopping.abort();
      await source.stop();
    },
    isReady: () => source.readiness().ready,
  };
}
