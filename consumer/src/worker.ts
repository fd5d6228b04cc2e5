import { setTimeout as sleep } from 'node:timers/promises';
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import {
  EnvelopeError,
  errorMessage,
  errorName,
  fromKafkaRecord,
  isRetriable,
  traceExemplar,
  type DecodedRecord,
  withTimeout,
  type Logger,
} from '@event-pipeline/common';
import type { EventHandler } from './handler';
import type { ConsumerMetrics } from './metrics';
import type { RecentlyProcessed } from './recently-processed';
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
  /** One attempt longer than this fails (retriably) and its signal aborts. */
  handlerTimeoutMs: number;
  /** A dead-letter write not acknowledged by then fails; the event is then not committed. */
  deadLetterTimeoutMs: number;
  /** How often the group hears from us while one event takes long (handler, backoff, dead-letter). */
  heartbeatIntervalMs: number;
  /** Events finished lately; a duplicate of one is dropped (and committed) unhandled. None: no de-duplication. */
  recentlyProcessed?: RecentlyProcessed | undefined;
  now?: () => number;
}

export interface Worker {
  start(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  isReady(): boolean;
}

class StoppingError extends Error {
  override readonly name = 'StoppingError';
}

/** The group moved on (a rebalance) while we worked: the message belongs to someone else now. */
class MembershipLostError extends Error {
  override readonly name = 'MembershipLostError';
}

export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
  readonly retriable = true;
}

/** The dead-letter write failed or timed out; the event stays uncommitted and comes again. */
export class DeadLetterError extends Error {
  override readonly name = 'DeadLetterError';
  // Retriable, so that if it reaches the client, the consumer restarts instead of dying.
  readonly retriable = true;
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
  handlerTimeoutMs,
  deadLetterTimeoutMs,
  heartbeatIntervalMs,
  recentlyProcessed,
  now = Date.now,
}: WorkerOptions): Worker {
  const stopping = new AbortController();
  const log = logger.child({ component: 'worker' });

  const tracer = trace.getTracer('@event-pipeline/consumer');

  // Decorrelated-jitter exponential backoff (cockatiel's default generator).
  const backoffs = new ExponentialBackoff({ initialDelay: settings.initialDelayMs, maxDelay: settings.maxDelayMs });

  const processMessage = async (message: InboundMessage, control: MessageControl): Promise<void> => {
    const started = now();
    // The KafkaJS instrumentation's `process` span, continuing the producer's trace (if loaded).
    const processSpan = trace.getActiveSpan();
    // The event's trace (the process span continues the producer's) is its observations' exemplar.
    const exemplarLabels = traceExemplar(processSpan?.spanContext());
    // From the acceptance time the producer stamped on the record, not from when it arrived here.
    const observeEndToEnd = (acceptedAt: number): void =>
      metrics.endToEndLatency.observe({ value: Math.max(0, now() - acceptedAt) / 1000, exemplarLabels });
    const position = { partition: message.partition, offset: message.offset };
    let attempts = 0;
    let decoded: DecodedRecord | undefined;
    let duplicate = false;

    // KafkaJS heartbeats only between messages; one event may take longer than the session
    // timeout (a slow handler, long backoffs, a slow dead-letter write), so keep it alive here.
    let membershipLost: unknown;
    const heartbeats = setInterval(() => {
      control.heartbeat().catch((error: unknown) => {
        membershipLost ??= error;
      });
    }, heartbeatIntervalMs);
    const checkMembership = (): void => {
      if (membershipLost !== undefined)
        throw new MembershipLostError(errorMessage(membershipLost), { cause: membershipLost });
    };

    try {
      decoded = fromKafkaRecord(message);
      const { event, acceptedAt } = decoded;
      processSpan?.setAttributes({
        'messaging.message.id': event.id,
        'cloudevents.event_id': event.id,
        'cloudevents.event_source': event.source,
        'cloudevents.event_type': event.type,
      });
      if (recentlyProcessed?.has(event)) {
        duplicate = true;
        metrics.duplicates.inc();
        processSpan?.addEvent('duplicate');
        log.debug({ ...position, event_id: event.id, event_source: event.source }, 'duplicate event dropped');
        return;
      }
      const key = message.key?.toString('utf8') ?? null;
      let backoff: IBackoff<unknown> | undefined;
      for (attempts = 1; ; attempts += 1) {
        if (stopping.signal.aborted) throw new StoppingError('worker is stopping');
        const timedOut = new AbortController();
        const attemptSpan = tracer.startSpan('handle event', {
          attributes: { 'cloudevents.event_type': event.type, 'event.attempt': attempts },
        });
        try {
          await withTimeout(
            context.with(trace.setSpan(context.active(), attemptSpan), () =>
              Promise.resolve(
                handler.handle(event, {
                  topic: message.topic,
                  partition: message.partition,
                  offset: message.offset,
                  key,
                  headers: message.headers,
                  acceptedAt,
                  attempt: attempts,
                  logger: log,
                  signal: AbortSignal.any([stopping.signal, timedOut.signal]),
                }),
              ),
            ),
            handlerTimeoutMs,
            () => {
              const error = new HandlerTimeoutError(`the handler took longer than ${handlerTimeoutMs} ms`);
              timedOut.abort(error);
              return error;
            },
          );
          attemptSpan.end();
          checkMembership();
          break;
        } catch (error) {
          failSpan(attemptSpan, error);
          attemptSpan.end();
          checkMembership();
          if (!isRetriable(error) || attempts >= settings.maxAttempts) throw error;
          metrics.processed.inc({ outcome: 'retried' });
          backoff = backoff ? backoff.next(undefined) : backoffs.next();
          processSpan?.addEvent('retry', {
            'event.attempt': attempts,
            'retry.delay_ms': Math.round(backoff.duration),
            'error.type': errorName(error),
          });
          // A stop cuts the wait short.
          await sleep(backoff.duration, undefined, { signal: stopping.signal });
          checkMembership();
        }
      }
      // Only now: an event that failed must come again, not be dropped as a duplicate.
      recentlyProcessed?.add(event);
      metrics.processed.inc({ outcome: 'success' });
      observeEndToEnd(acceptedAt);
    } catch (error) {
      if (stopping.signal.aborted || error instanceof MembershipLostError) {
        // Not committed: the next owner of the partition processes it again.
        log.info({ ...position, attempts, err: errorMessage(error) }, 'left unfinished');
        throw error instanceof MembershipLostError ? (error.cause ?? error) : error;
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
      processSpan?.addEvent('dead_letter', { 'event.attempts': attempts, 'dead_letter.reason': reason });
      if (processSpan) failSpan(processSpan, error);
      try {
        await withTimeout(
          deadLetter.publish(message, { error, attempts: Math.max(1, attempts), failedAt: new Date(now()) }),
          deadLetterTimeoutMs,
          () => new Error(`not acknowledged within ${deadLetterTimeoutMs} ms`),
        );
        checkMembership();
      } catch (dlqError) {
        metrics.deadLetterFailures.inc();
        log.error({ ...position, err: errorMessage(dlqError) }, 'dead-letter write failed');
        throw new DeadLetterError(`dead-letter write failed: ${errorMessage(dlqError)}`, { cause: dlqError });
      }
      if (decoded) recentlyProcessed?.add(decoded.event);
      metrics.processed.inc({ outcome: 'dead_lettered' });
      if (decoded) observeEndToEnd(decoded.acceptedAt);
    } finally {
      clearInterval(heartbeats);
      if (!duplicate) metrics.processingDuration.observe({ value: (now() - started) / 1000, exemplarLabels });
    }
  };

  return {
    start: (signal) => source.start(processMessage, signal),
    async stop() {
      stopping.abort();
      await source.stop();
    },
    isReady: () => source.readiness().ready,
  };
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorName(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
}
