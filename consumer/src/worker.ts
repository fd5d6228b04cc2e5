import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import {
  errorMessage,
  errorName,
  fromKafkaRecord,
  traceExemplar,
  type CloudEvent,
  type DecodedRecord,
  type Logger,
  type MessageHeaders,
} from '@event-pipeline/common';
import type { DataDecoder, DataSchemaRef } from './data-decoder';
import { REDRIVE_HEADERS } from './dead-letter-headers';
import { createDeadLetterStep } from './dead-letter-step';
import type { EventHandler, HandlerContext } from './handler';
import { MembershipLostError, type HeartbeatKeeper } from './heartbeat-keeper';
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
  recentlyProcessed,
  dataDecoder,
  now = Date.now,
}: WorkerOptions): Worker {
  const stopping = new AbortController();
  const log = logger.child({ component: 'worker' });
  const tracer = trace.getTracer('@event-pipeline/consumer');
  const retryPolicy = createRetryPolicy({ ...settings, attemptTimeoutMs: handlerTimeoutMs });
  const deadLetterEvent = createDeadLetterStep({ sink: deadLetter, timeoutMs: deadLetterTimeoutMs, metrics, log, now });

  /**
   * One attempt. The first runs in the event's process span; a retry gets a span of its own
   * under it, so a trace shows each attempt that happened and an event handled at once costs one
   * span in all.
   */
  const handleAttempt = async (
    { message, event, acceptedAt, membership, dataSchema, key, processSpan }: EventInHand,
    attemptContext: AttemptContext,
  ): Promise<void> => {
    const { attempt, withinTime } = attemptContext;
    // Lost during the wait for this attempt: the message is someone else's now.
    membership.check();
    const retrySpan =
      attempt > 1 && processSpan.isRecording()
        ? tracer.startSpan(
            'retry event',
            { attributes: { 'cloudevents.event_type': event.type, 'event.attempt': attempt } },
            trace.setSpan(context.active(), processSpan),
          )
        : undefined;
    const handlerContext: HandlerContext = {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key,
      headers: message.headers,
      acceptedAt,
      attempt,
      logger: log,
      // Read through: the attempt makes its signal only for a handler that asks for it.
      get signal() {
        return attemptContext.signal;
      },
      ...(dataSchema ? { dataSchema } : {}),
    };
    try {
      const span = retrySpan ?? processSpan;
      // In the event's trace, if it has one (the handler's calls and log lines join it).
      const outcome: unknown = isSpanContextValid(span.spanContext())
        ? context.with(trace.setSpan(context.active(), span), () => handler.handle(event, handlerContext))
        : handler.handle(event, handlerContext);
      // A handler that returned without waiting is done: no timer to set for it.
      if (outcome instanceof Promise) await withinTime(outcome);
      else if (isThenable(outcome)) await withinTime(Promise.resolve(outcome));
    } catch (error) {
      if (retrySpan) recordFailure(retrySpan, error);
      throw error;
    } finally {
      retrySpan?.end();
      // A lost membership outweighs the attempt's outcome, success or failure.
      membership.check();
    }
  };

  const reportRetry = ({ attempt, delayMs, error }: RetryNotice, processSpan: Span): void => {
    metrics.processed.inc({ outcome: 'retried' });
    if (!processSpan.isRecording()) return;
    processSpan.addEvent('retry', {
      'event.attempt': attempt,
      'retry.delay_ms': Math.round(delayMs),
      'error.type': errorName(error),
    });
  };

  const processMessage = async (message: InboundMessage, { membership }: MessageControl): Promise<void> => {
    const started = now();
    // Our own span per event, a child of the producer's send span through the record's
    // traceparent; KafkaJS's instrumentation, under eachBatch, would put it in a trace of its own.
    const processSpan = tracer.startSpan(
      `process ${message.topic}`,
      { kind: SpanKind.CONSUMER },
      propagation.extract(ROOT_CONTEXT, message.headers, headerGetter),
    );
    // Not sampled (or tracing off): no attribute is worked out for a span that goes nowhere.
    const traced = processSpan.isRecording();
    if (traced) processSpan.setAttributes(messagingAttributes(message));
    // The event's trace (the process span continues the producer's) is its observations' exemplar.
    const exemplarLabels = traceExemplar(processSpan.spanContext());
    let decoded: DecodedRecord | undefined;
    let attempts = 0;
    let outcome: 'handled' | 'dead_lettered' | 'duplicate' | 'unfinished' = 'unfinished';
    // Handled or dead-lettered: a copy is dropped from now on (an event that failed must come
    // again), and the latency counts from the acceptance the producer stamped on the record.
    const finished = ({ event, acceptedAt }: DecodedRecord, as: FinishedAs): void => {
      recentlyProcessed?.add(event, as);
      metrics.endToEndLatency.observe({ value: Math.max(0, now() - acceptedAt) / 1000, exemplarLabels });
    };
    try {
      decoded = fromKafkaRecord(message);
      if (traced) processSpan.setAttributes(eventAttributes(decoded.event));
      if (isDuplicate(recentlyProcessed?.finishedAs(decoded.event), message)) {
        outcome = 'duplicate';
        metrics.duplicates.inc();
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
      const key = message.key === null ? null : message.key.toString('utf8');
      const inHand: EventInHand = { message, ...decoded, membership, dataSchema, key, processSpan };
      await retryPolicy.execute(
        (attempt) => {
          attempts = attempt.attempt;
          return handleAttempt(inHand, attempt);
        },
        { signal: stopping.signal, onRetry: (notice) => reportRetry(notice, processSpan) },
      );
      metrics.processed.inc({ outcome: 'success' });
      outcome = 'handled';
      finished(decoded, 'handled');
    } catch (error) {
      if (stopping.signal.aborted || error instanceof MembershipLostError) {
        // Not committed: the next owner of the partition processes it again.
        log.info({ ...positionOf(message), attempts, err: errorMessage(error) }, 'left unfinished');
        if (traced) processSpan.setAttribute('error.type', errorName(error));
        throw error instanceof MembershipLostError ? (error.cause ?? error) : error;
      }
      const eventId = decoded?.event.id;
      await deadLetterEvent({ message, error, attempts, eventId, processSpan, membership });
      outcome = 'dead_lettered';
      if (decoded) finished(decoded, 'dead_lettered');
    } finally {
      if (outcome !== 'duplicate')
        metrics.processingDuration.observe({ value: (now() - started) / 1000, exemplarLabels });
      if (traced) {
        processSpan.setAttributes({ 'event.outcome': outcome, 'event.attempts': attempts });
        if (outcome === 'unfinished') processSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'left unfinished' });
      }
      processSpan.end();
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
  key: string | null;
  processSpan: Span;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';

/** Reads the W3C trace context from Kafka headers, which KafkaJS hands over as Buffers. */
const headerGetter: TextMapGetter<MessageHeaders> = {
  keys: (headers) => Object.keys(headers),
  get(headers, name) {
    const value = headers[name];
    if (value === undefined) return undefined;
    // KafkaJS reads a header written without a value as null: no trace context in it.
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return typeof first === 'string' ? first : Buffer.isBuffer(first) ? first.toString('latin1') : undefined;
  },
};

/** The messaging conventions' consumer attributes (semantic conventions 1.30). */
const messagingAttributes = (message: InboundMessage) => ({
  'messaging.system': 'kafka',
  'messaging.operation.type': 'process',
  'messaging.operation.name': 'process',
  'messaging.destination.name': message.topic,
  'messaging.destination.partition.id': String(message.partition),
  'messaging.kafka.offset': message.offset,
  ...(message.key === null ? {} : { 'messaging.kafka.message.key': message.key.toString('utf8') }),
});

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
