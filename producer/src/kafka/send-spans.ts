import {
  context,
  type Attributes,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_MESSAGE_ID,
  recordFailureAs,
  type OutboundRecord,
  kafkaSendAttributes,
} from '@event-pipeline/common';

const tracer = trace.getTracer('@event-pipeline/producer');

export interface PartitionedRecord extends OutboundRecord {
  partition: number;
}

/**
 * The PRODUCER spans of one request's events, started in the context of that request, each
 * event's send span context written into its headers (W3C `traceparent`, by the SDK's
 * propagator) for the consumer to continue. One event: one `send` span with its id, key and
 * partition. A batch request: one `send` span for all its events (OpenTelemetry's messaging
 * conventions for a batch send: `messaging.batch.message_count`), whose context every event
 * carries as its creation context, so every event's consumer span still continues its request's
 * trace, at one span per request rather than one per event.
 *
 * The KafkaJS instrumentation would do this in `send`, but it parents its spans to whatever
 * context is active when `send` is called, and the publisher coalesces the events of many
 * requests into one send: they would all hang off one request. So the publisher makes the spans
 * (with the instrumentation's attributes) and sends through `untracedSend`. Without the
 * telemetry bootstrap these are no-ops.
 */
export function startSendSpans(topic: string, records: readonly PartitionedRecord[]): Span[] {
  const parent = context.active();
  const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent);
  // Attributes only for spans that are recorded: an unsampled request skips their cleaning.
  if (span.isRecording()) span.setAttributes(sendAttributes(topic, records));
  const sent = trace.setSpan(parent, span);
  for (const record of records) propagation.inject(sent, record.headers);
  return [span];
}

function sendAttributes(topic: string, records: readonly PartitionedRecord[]): Attributes {
  const common = kafkaSendAttributes(topic, 'send');
  const [only] = records;
  if (records.length === 1 && only) {
    return {
      ...common,
      [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(only.partition),
      // An event without a key (no subject, no partitionkey) has no key attribute.
      ...(only.key === null ? {} : { [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: only.key }),
      [ATTR_MESSAGING_MESSAGE_ID]: only.headers.ce_id,
      'cloudevents.event_type': only.headers.ce_type,
    };
  }
  const partitions = new Set(records.map((record) => record.partition));
  const types = new Set(records.map((record) => record.headers.ce_type));
  return {
    ...common,
    [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: records.length,
    ...(partitions.size === 1 ? { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(only?.partition) } : {}),
    ...(types.size === 1 ? { 'cloudevents.event_type': only?.headers.ce_type } : {}),
  };
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
    if (failure) recordFailureAs(span, failure.type, failure.message);
    span.end();
  }
}

/** A Kafka send with the instrumentation's own send spans (and header injection) switched off. */
export function untracedSend<T>(send: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), send);
}
