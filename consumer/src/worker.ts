import { context, trace, type Span } from '@opentelemetry/api';
import {
  errorMessage,
  errorName,
  fromKafkaRecord,
  traceExemplar,
  type CloudEvent,
  type DecodedRecord,
  type Logger,
} from '@event-pipeline/common';
import type { DataDecoder, DataSchemaRef } from './data-decoder';
import { REDRIVE_HEADERS } from './dead-letter-headers';
import { createDeadLetterStep } from './dead-letter-step';
import type { EventHandler } from './handler';
import { keepHeartbeating, MembershipLostError, type HeartbeatKeeper } from './heartbeat-keeper';
import type { ConsumerMetrics } from './metrics';
import type { FinishedAs, RecentlyProcessed } from './recently-processed';
import { createRetryPolicy, type AttemptContext, type RetryNotice, type RetrySettings } from './retry-policy';
import type { DeadLetterSink, InboundMessage, MessageControl, MessageSource } from './source';
import { recordFailure } from './span-failure';

export { DeadLetterError } from './dead-letter-step';
export { HandlerTimeoutError, type RetrySettings } from './retry-policy';

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
  /** Decodes Avro data by its schema id before the handler runs. None: Avro data reaches the handler as bytes. */
  dataDecoder?: DataDecoder | undefined;
  now?: () => number;
}

export interface Worker {
  start(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  isReady(): boolean;
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
  dataDecoder,
  now = Date.now,
}: WorkerOptions): Worker {
  const stopping = new AbortController();
  const log = logger.child({ component: 'worker' });
  const tracer = trace.getTracer('@event-pipeline/consumer');
  const retryPolicy = createRetryPolicy({ ...settings, attemptTimeoutMs: handlerTimeoutMs });
  const deadLetterEvent = createDeadLetterStep({ sink: deadLetter, timeoutMs: deadLetterTimeoutMs, metrics, log, now });

  /** One attempt: the handler in a span of its own, given up when its time is out. */
  const handleAttempt = async (
    { message, event, acceptedAt, membership, dataSchema }: EventInHand,
    { attempt, signal, withinTime }: AttemptContext,
  ): Promise<void> => {
    // Lost during the wait for this attempt: the message is someone else's now.
    membership.check();
    const span = tracer.startSpan('handle event', {
      attributes: { 'cloudevents.event_type': event.type, 'event.attempt': attempt },
    });
    const handlerContext = {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      headers: message.headers,
      acceptedAt,
      attempt,
      logger: log,
      signal,
      ...(dataSchema ? { dataSchema } : {}),
    };
    try {
      await withinTime(
        context.with(trace.setSpan(context.active(), span), async () => handler.handle(event, handlerContext)),
      );
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
      // A lost membership outweighs the attempt's outcome, success or failure.
      membership.check();
    }
  };

  const reportRetry = ({ attempt, delayMs, error }: RetryNotice, processSpan: Span | undefined): void => {
    metrics.processed.inc({ outcome: 'retried' });
    processSpan?.addEvent('retry', {
      'event.attempt': attempt,
      'retry.delay_ms': Math.round(delayMs),
      'error.type': errorName(error),
    });
  };

  const processMessage = async (message: InboundMessage, control: MessageControl): Promise<void> => {
    const started = now();
    // The KafkaJS instrumentation's `process` span, continuing the producer's trace (if loaded).
    const processSpan = trace.getActiveSpan();
    // The event's trace (the process span continues the producer's) is its observations' exemplar.
    const exemplarLabels = traceExemplar(processSpan?.spanContext());
    const membership = keepHeartbeating(() => control.heartbeat(), heartbeatIntervalMs);
    let decoded: DecodedRecord | undefined;
    let attempts = 0;
    let duplicate = false;
    // Handled or dead-lettered: a copy is dropped from now on (an event that failed must come
    // again), and the latency counts from the acceptance the producer stamped on the record.
    const finished = ({ event, acceptedAt }: DecodedRecord, as: FinishedAs): void => {
      recentlyProcessed?.add(event, as);
      metrics.endToEndLatency.observe({ value: Math.max(0, now() - acceptedAt) / 1000, exemplarLabels });
    };
    try {
      decoded = fromKafkaRecord(message);
      processSpan?.setAttributes(eventAttributes(decoded.event));
      if (isDuplicate(recentlyProcessed?.finishedAs(decoded.event), message)) {
        duplicate = true;
        metrics.duplicates.inc();
        processSpan?.addEvent('duplicate');
        log.debug(
          { ...positionOf(message), event_id: decoded.event.id, event_source: decoded.event.source },
          'duplicate event dropped',
        );
        return;
      }
      // Before the attempts: an unreachable registry is waited out here, spending none of them.
      const dataSchema = await dataDecoder?.decode(decoded.event, {
        signal: stopping.signal,
        stillOwned: () => membership.check(),
      });
      const inHand: EventInHand = { message, ...decoded, membership, dataSchema };
      await retryPolicy.execute(
        (attempt) => {
          attempts = attempt.attempt;
          return handleAttempt(inHand, attempt);
        },
        { signal: stopping.signal, onRetry: (notice) => reportRetry(notice, processSpan) },
      );
      metrics.processed.inc({ outcome: 'success' });
      finished(decoded, 'handled');
    } catch (error) {
      if (stopping.signal.aborted || error instanceof MembershipLostError) {
        // Not committed: the next owner of the partition processes it again.
        log.info({ ...positionOf(message), attempts, err: errorMessage(error) }, 'left unfinished');
        throw error instanceof MembershipLostError ? (error.cause ?? error) : error;
      }
      await deadLetterEvent({ message, error, attempts, eventId: decoded?.event.id, processSpan, membership });
      if (decoded) finished(decoded, 'dead_lettered');
    } finally {
      membership.stop();
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

/** A decoded event and what its attempts need besides. */
interface EventInHand extends DecodedRecord {
  message: InboundMessage;
  membership: HeartbeatKeeper;
  dataSchema: DataSchemaRef | undefined;
}

/**
 * A copy of an event finished lately is dropped, except a redriven copy (`dlq redrive`) of one
 * that was dead-lettered: that is the operator sending it again on purpose. A copy of the
 * redriven event once handled is dropped like any other.
 */
function isDuplicate(finishedAs: FinishedAs | undefined, message: InboundMessage): boolean {
  if (finishedAs === undefined) return false;
  return !(finishedAs === 'dead_lettered' && message.headers[REDRIVE_HEADERS.from] !== undefined);
}

const positionOf = (message: InboundMessage) => ({ partition: message.partition, offset: message.offset });

const eventAttributes = (event: CloudEvent) => ({
  'messaging.message.id': event.id,
  'cloudevents.event_id': event.id,
  'cloudevents.event_source': event.source,
  'cloudevents.event_type': event.type,
});
