import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_MESSAGE_ID,
  EnvelopeError,
  errorMessage,
  errorName,
  isRetriable,
  PipelineError,
  recordFailure,
  withTimeout,
  type Logger,
  kafkaSendAttributes,
} from '@event-pipeline/common';
import { causeOfLoss, MembershipLostError, type HeartbeatKeeper } from './heartbeat-keeper';
import type { ConsumerMetrics } from './metrics';
import type { DeadLetterSink, InboundMessage } from './source';

const tracer = trace.getTracer('@event-pipeline/consumer');

/** The dead-letter write failed or timed out; the event stays uncommitted and comes again. */
export class DeadLetterError extends PipelineError {
  // Retriable, so that if it reaches the client, the consumer restarts instead of dying.
  readonly retriable = true;
}

export interface DeadLetterStepOptions {
  sink: DeadLetterSink;
  /** A write not acknowledged by then fails (DeadLetterError). */
  timeoutMs: number;
  metrics: ConsumerMetrics;
  log: Logger;
  now: () => number;
}

export interface FailedEvent {
  message: InboundMessage;
  error: unknown;
  /** Attempts made; 0 when the record could not be read. */
  attempts: number;
  eventId: string | undefined;
  /** The event's `process` span (not recording when tracing is off or the trace unsampled). */
  processSpan: Span;
  /** The group must still know us once the copy is written: else the next owner has the message. */
  membership: HeartbeatKeeper;
}

/**
 * Writes an event the handler could not process to the dead-letter topic and says so (log,
 * span, metrics). Resolves once the copy is acknowledged, so the original may be committed;
 * throws DeadLetterError when it is not, so the original comes again, and the lost membership's
 * cause when the group moved on meanwhile (the copy stands; the next owner takes the original).
 */
export function createDeadLetterStep({
  sink,
  timeoutMs,
  metrics,
  log,
  now,
}: DeadLetterStepOptions): (failed: FailedEvent) => Promise<void> {
  return async ({ message, error, attempts, eventId, processSpan, membership }) => {
    const position = { partition: message.partition, offset: message.offset };
    const reason =
      error instanceof EnvelopeError ? 'unreadable' : isRetriable(error) ? 'retries exhausted' : 'not retriable';
    log.warn(
      { ...position, event_id: eventId, attempts, reason, err: errorMessage(error), error_name: errorName(error) },
      'dead-lettering event',
    );
    const traced = processSpan.isRecording();
    // The write as a span of the event's trace, whose context the dead letter carries, so that a
    // redrive continues the story.
    const sendSpan = traced
      ? tracer.startSpan(
          `send ${sink.topic}`,
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              ...kafkaSendAttributes(sink.topic, 'send'),
              ...(eventId === undefined ? {} : { [ATTR_MESSAGING_MESSAGE_ID]: eventId }),
            },
          },
          trace.setSpan(context.active(), processSpan),
        )
      : undefined;
    if (traced) {
      processSpan.addEvent('dead_letter', { 'event.attempts': attempts, 'dead_letter.reason': reason });
      recordFailure(processSpan, error);
    }
    try {
      const written = context.with(sendSpan ? trace.setSpan(context.active(), sendSpan) : context.active(), () =>
        sink.publish(message, { error, attempts: Math.max(1, attempts), failedAt: new Date(now()) }),
      );
      await withTimeout(written, timeoutMs, () => new Error(`not acknowledged within ${timeoutMs} ms`));
    } catch (dlqError) {
      if (sendSpan) recordFailure(sendSpan, dlqError);
      metrics.deadLetterFailures.inc();
      log.error({ ...position, err: errorMessage(dlqError) }, 'dead-letter write failed');
      throw new DeadLetterError(`dead-letter write failed: ${errorMessage(dlqError)}`, { cause: dlqError });
    } finally {
      sendSpan?.end();
    }
    try {
      membership.check();
    } catch (lost) {
      // The copy is written, but the partition is someone else's now: the original stays
      // uncommitted, as any event is when the group moves on, and its next owner takes it again.
      log.warn(
        { ...position, event_id: eventId, err: errorMessage(lost) },
        'dead letter written, but the group moved on before the original was committed: its next owner processes the event again',
      );
      throw lost instanceof MembershipLostError ? causeOfLoss(lost) : lost;
    }
    metrics.processed.inc({ outcome: 'dead_lettered' });
    metrics.deadLettered(errorName(error));
  };
}
