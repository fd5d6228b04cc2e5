import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { OutboundRecord } from '@event-pipeline/common';

const tracer = trace.getTracer('@event-pipeline/producer');

export interface PartitionedRecord extends OutboundRecord {
  partition: number;
}

/**
 * One PRODUCER span per event, started in the context of the request that carries it, and that
 * span's context written into the event's headers (W3C `traceparent`, by the SDK's propagator)
 * for the consumer to continue. The KafkaJS instrumentation would do this in `send`, but it
 * parents its spans to whatever context is active when `send` is called, and the publisher
 * coalesces the events of many requests into one send: they would all hang off one request.
 * So the publisher makes the spans (with the instrumentation's attributes) and sends through
 * `untracedSend`. Without the telemetry bootstrap these are no-ops.
 */
export function startSendSpans(topic: string, records: readonly PartitionedRecord[]): Span[] {
  const parent = context.active();
  return records.map((record) => {
    const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent);
    // Attributes only for spans that are recorded: an unsampled request skips their cleaning.
    if (span.isRecording()) {
      span.setAttributes({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': String(record.partition),
        'messaging.kafka.message.key': record.key,
        'messaging.message.id': record.headers.ce_id,
        'cloudevents.event_type': record.headers.ce_type,
      });
    }
    propagation.inject(trace.setSpan(parent, span), record.headers);
    return span;
  });
}

/**
 * The context of a record's send span, read back from its headers (as the consumer will read
 * it): the trace an exemplar of its batch points to. None without the telemetry bootstrap.
 */
export function sendSpanContextOf(record: OutboundRecord): SpanContext | undefined {
  return trace.getSpanContext(propagation.extract(ROOT_CONTEXT, record.headers));
}

/** Ends the spans; with `failure`, as errors of that type (`error.type`, e.g. `timeout`). */
export function endSendSpans(spans: readonly Span[], failure?: { type: string; message: string }): void {
  for (const span of spans) {
    if (failure) {
      span.setAttribute('error.type', failure.type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    }
    span.end();
  }
}

/** A Kafka send with the instrumentation's own send spans (and header injection) switched off. */
export function untracedSend<T>(send: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), send);
}
