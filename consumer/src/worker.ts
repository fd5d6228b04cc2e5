import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  errorMessage,
  errorName,
  fromKafkaRecord,
  isAvroMediaType,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEM_VALUE_KAFKA,
  recordFailure,
  recordFailureAs,
  traceExemplar,
  type CloudEvent,
  type DecodedRecord,
  type Logger,
  type MessageHeaders,
  type TraceExemplar,
} from '@event-pipeline/common';
import type { DataDecoder, DataSchemaRef } from './data-decoder';
import { REDRIVE_HEADERS } from './dead-letter-headers';
import { createDeadLetterStep } from './dead-letter-step';
import type { EventHandler, HandlerContext } from './handler';
import { causeOfLoss, MembershipLostError, type HeartbeatKeeper } from './heartbeat-keeper';
import type { ConsumerMetrics } from './metrics';
import type { FinishedAs, RecentlyProcessed } from './recently-processed';
import {
  createRetryPolicy,
  isThenable,
  type AttemptContext,
  type RetryNotice,
  type RetrySettings,
} from './retry-policy';
import type { DeadLetterSink, InboundMessage, MessageControl, MessageSource } from './source';

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
 * or its dead-letter copy was acknowledged, so nothing is skipped; a poison message holds the
 * later events of its key (and the partition's commit) for at most the retry budget.
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
   * span in all. A handler that returns without waiting makes the attempt synchronous.
   */
  const handleAttempt = (inHand: EventInHand, attemptContext: AttemptContext): void | Promise<void> => {
    const { event, membership, processSpan } = inHand;
    const { attempt } = attemptContext;
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
    // A lost membership outweighs the attempt's outcome, success or failure.
    const ended = (error?: { value: unknown }): void => {
      if (retrySpan && error) recordFailure(retrySpan, error.value);
      retrySpan?.end();
      membership.check();
      if (error) throw error.value;
    };
    let outcome: unknown;
    try {
      const span = retrySpan ?? processSpan;
      const handlerContext = new AttemptHandlerContext(inHand, attemptContext, log);
      // In the event's trace, if it has one (the handler's calls and log lines join it).
      outcome = isSpanContextValid(span.spanContext())
        ? context.with(trace.setSpan(context.active(), span), () => handler.handle(event, handlerContext))
        : handler.handle(event, handlerContext);
    } catch (error) {
      return ended({ value: error });
    }
    // A handler that returned without waiting is done: no timer, no promise for it.
    if (!isThenable(outcome)) return ended();
    return attemptContext.withinTime(Promise.resolve(outcome)).then(
      () => ended(),
      (error: unknown) => ended({ value: error }),
    );
  };

  const reportRetry = ({ attempt, delayMs, error }: RetryNotice, processSpan: Span): void => {
    metrics.processed.inc({ outcome: 'retried' });
    if (!processSpan.isRecording()) return;
    processSpan.addEvent('retry', {
      'event.attempt': attempt,
      'retry.delay_ms': Math.round(delayMs),
      [ATTR_ERROR_TYPE]: errorName(error),
    });
  };

  /**
   * The attempts at a decoded event (after its Avro data is decoded, when it has some): done
   * synchronously when the handler is, else a promise.
   */
  const attemptEvent = (run: EventRun, decoded: DecodedRecord, membership: HeartbeatKeeper): void | Promise<void> => {
    const { message } = run;
    const inHand = (dataSchema: DataSchemaRef | undefined): EventInHand => ({
      message,
      ...decoded,
      membership,
      dataSchema,
      key: message.key === null ? null : message.key.toString('utf8'),
      processSpan: run.span,
    });
    const attempts = (held: EventInHand) =>
      retryPolicy.execute(
        (attempt) => {
          run.attempts = attempt.attempt;
          return handleAttempt(held, attempt);
        },
        { signal: stopping.signal, onRetry: (notice) => reportRetry(notice, run.span) },
      );
    if (!dataDecoder || !isAvroMediaType(decoded.event.datacontenttype)) return attempts(inHand(undefined));
    // Before the attempts: an unreachable registry is waited out here, spending none of them.
    return dataDecoder
      .decode(decoded.event, { signal: stopping.signal, stillOwned: () => membership.check() })
      .then((dataSchema) => attempts(inHand(dataSchema)));
  };

  /** Handled or dead-lettered: a copy is dropped from now on, and its latency is observed. */
  const finished = (run: EventRun, { event, acceptedAt }: DecodedRecord, as: FinishedAs): void => {
    recentlyProcessed?.add(event, as);
    metrics.endToEndLatency.observe({ value: Math.max(0, now() - acceptedAt) / 1000, exemplarLabels: run.exemplar });
  };

  const handled = (run: EventRun, decoded: DecodedRecord): void => {
    metrics.processed.inc({ outcome: 'success' });
    run.outcome = 'handled';
    finished(run, decoded, 'handled');
  };

  /** The event's span and its duration, whatever it ended as; `error`, what left it unfinished. */
  const ended = (run: EventRun, error?: unknown): void => {
    if (run.outcome !== 'duplicate')
      metrics.processingDuration.observe({ value: (now() - run.started) / 1000, exemplarLabels: run.exemplar });
    if (run.traced) {
      run.span.setAttributes({ 'event.outcome': run.outcome, 'event.attempts': run.attempts });
      if (run.outcome === 'unfinished') recordFailureAs(run.span, errorName(error), 'left unfinished');
    }
    run.span.end();
  };

  /** A failure: left unfinished (not committed) when stopping or no longer ours, else dead-lettered. */
  const failed = async (run: EventRun, error: unknown, membership: HeartbeatKeeper): Promise<void> => {
    const { message, decoded } = run;
    try {
      if (stopping.signal.aborted || error instanceof MembershipLostError) {
        // Not committed: the next owner of the partition processes it again.
        log.info({ ...positionOf(message), attempts: run.attempts, err: errorMessage(error) }, 'left unfinished');
        throw error instanceof MembershipLostError ? causeOfLoss(error) : error;
      }
      await deadLetterEvent({
        message,
        error,
        attempts: run.attempts,
        eventId: decoded?.event.id,
        processSpan: run.span,
        membership,
      });
      run.outcome = 'dead_lettered';
      if (decoded) finished(run, decoded, 'dead_lettered');
    } finally {
      ended(run, error);
    }
  };

  /**
   * One event, from its record to handled, dropped as a duplicate, dead-lettered or left
   * unfinished. Synchronous (no promise) when the event needs no waiting: a handler that returns
   * a value, no Avro data to decode, no failure.
   */
  const processMessage = (message: InboundMessage, { membership }: MessageControl): void | Promise<void> => {
    // Our own span per event, a child of the producer's send span through the record's
    // traceparent; KafkaJS's instrumentation, under eachBatch, would put it in a trace of its own.
    const span = tracer.startSpan(
      `process ${message.topic}`,
      { kind: SpanKind.CONSUMER },
      propagation.extract(ROOT_CONTEXT, message.headers, headerGetter),
    );
    const run = new EventRun(message, span, now());
    // Not sampled (or tracing off): no attribute is worked out for a span that goes nowhere.
    if (run.traced) span.setAttributes(messagingAttributes(message));
    let pending: void | Promise<void>;
    let decoded: DecodedRecord;
    try {
      decoded = run.decoded = fromKafkaRecord(message);
      if (run.traced) span.setAttributes(eventAttributes(decoded.event));
      if (isDuplicate(recentlyProcessed?.finishedAs(decoded.event), message)) {
        run.outcome = 'duplicate';
        metrics.duplicates.inc();
        log.debug(
          { ...positionOf(message), event_id: decoded.event.id, event_source: decoded.event.source },
          'duplicate event dropped',
        );
        ended(run);
        return;
      }
      pending = attemptEvent(run, decoded, membership);
    } catch (error) {
      return failed(run, error, membership);
    }
    if (!pending) {
      handled(run, decoded);
      ended(run);
      return;
    }
    return pending.then(
      () => {
        handled(run, decoded);
        ended(run);
      },
      (error: unknown) => failed(run, error, membership),
    );
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

/** One event's way through the worker: what its span, metrics and log lines say at its end. */
class EventRun {
  readonly traced: boolean;
  /** The event's trace (the process span continues the producer's) is its observations' exemplar. */
  readonly exemplar: TraceExemplar;
  decoded: DecodedRecord | undefined;
  attempts = 0;
  outcome: 'handled' | 'dead_lettered' | 'duplicate' | 'unfinished' = 'unfinished';

  constructor(
    readonly message: InboundMessage,
    readonly span: Span,
    readonly started: number,
  ) {
    this.traced = span.isRecording();
    this.exemplar = traceExemplar(span.spanContext());
  }
}

/** What the handler is told of an attempt; its signal is the attempt's, made only when read. */
class AttemptHandlerContext implements HandlerContext {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly headers: MessageHeaders;
  readonly acceptedAt: number;
  readonly attempt: number;
  readonly dataSchema?: DataSchemaRef;
  readonly #attemptContext: AttemptContext;

  constructor(
    { message, acceptedAt, key, dataSchema }: EventInHand,
    attemptContext: AttemptContext,
    readonly logger: Logger,
  ) {
    this.topic = message.topic;
    this.partition = message.partition;
    this.offset = message.offset;
    this.key = key;
    this.headers = message.headers;
    this.acceptedAt = acceptedAt;
    this.attempt = attemptContext.attempt;
    this.#attemptContext = attemptContext;
    if (dataSchema) this.dataSchema = dataSchema;
  }

  get signal(): AbortSignal {
    return this.#attemptContext.signal;
  }
}

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
  [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_KAFKA,
  [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  [ATTR_MESSAGING_OPERATION_NAME]: 'process',
  [ATTR_MESSAGING_DESTINATION_NAME]: message.topic,
  [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(message.partition),
  [ATTR_MESSAGING_KAFKA_OFFSET]: message.offset,
  ...(message.key === null ? {} : { [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: message.key.toString('utf8') }),
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
  [ATTR_MESSAGING_MESSAGE_ID]: event.id,
  'cloudevents.event_id': event.id,
  'cloudevents.event_source': event.source,
  'cloudevents.event_type': event.type,
});
