import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { startTestTracing, type TestTracing } from '../../../test/support/tracing';
import { endSendSpans, sendSpanContextOf, startSendSpans, untracedSend, type PartitionedRecord } from './send-spans';

function record(id: string): PartitionedRecord {
  return { key: id, value: null, headers: { ce_id: id, ce_type: 'order.created' }, timestamp: '0', partition: 2 };
}

describe('send spans', () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.exporter.reset());

  it("parents each request's send span to that request, and writes that span into its events' headers", () => {
    const tracer = trace.getTracer('test');
    const requestA = tracer.startSpan('POST /events A');
    const requestB = tracer.startSpan('POST /events B');
    const a = record('a');
    const [b1, b2] = [record('b1'), record('b2')];
    const spans = [
      ...context.with(trace.setSpan(context.active(), requestA), () => startSendSpans('events', [a])),
      ...context.with(trace.setSpan(context.active(), requestB), () => startSendSpans('events', [b1, b2])),
    ];
    // The events are then sent together, as the coalescer does, from whichever context.
    endSendSpans(spans);

    const finished = tracing.exporter.getFinishedSpans();
    expect(finished).toHaveLength(2);
    const common = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'events',
      'messaging.destination.partition.id': '2',
    };
    // One event: its own span, with its id and key.
    const single = finished.find((each) => each.parentSpanContext?.spanId === requestA.spanContext().spanId)!;
    expect(single).toMatchObject({ name: 'send events', kind: SpanKind.PRODUCER });
    expect(single.attributes).toMatchObject({
      ...common,
      'messaging.message.id': 'a',
      'messaging.kafka.message.key': 'a',
    });
    // A batch: one span for its events, which every event carries as its creation context.
    const batch = finished.find((each) => each.parentSpanContext?.spanId === requestB.spanContext().spanId)!;
    expect(batch).toMatchObject({ name: 'send events', kind: SpanKind.PRODUCER });
    expect(batch.attributes).toMatchObject({ ...common, 'messaging.batch.message_count': 2 });
    expect(batch.attributes['messaging.message.id']).toBeUndefined();
    for (const [rec, span] of [
      [a, single],
      [b1, batch],
      [b2, batch],
    ] as const) {
      const { traceId, spanId } = span.spanContext();
      expect(rec.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    }
  });

  it('leaves the key attribute out for an event written without a key', () => {
    const unkeyed = { ...record('u'), key: null };
    const tracer = trace.getTracer('test');
    const request = tracer.startSpan('POST /events');
    endSendSpans(context.with(trace.setSpan(context.active(), request), () => startSendSpans('events', [unkeyed])));
    const [send] = tracing.exporter.getFinishedSpans();
    expect(send?.attributes).toMatchObject({ 'messaging.message.id': 'u', 'messaging.destination.partition.id': '2' });
    expect(Object.keys(send?.attributes ?? {})).not.toContain('messaging.kafka.message.key');
  });

  it("reads a record's send span context back from its headers (the trace of its batch's exemplar)", () => {
    const rec = record('c');
    const [span] = startSendSpans('events', [rec]);
    expect(sendSpanContextOf(rec)).toMatchObject({
      traceId: span!.spanContext().traceId,
      spanId: span!.spanContext().spanId,
      traceFlags: span!.spanContext().traceFlags,
    });
    endSendSpans([span!]);
    expect(sendSpanContextOf(record('no-headers'))).toBeUndefined();
  });

  it('marks every span of a refused publish as an error of its kind', () => {
    endSendSpans(startSendSpans('events', [record('x'), record('y')]), { type: 'timeout', message: 'no ack' });
    for (const span of tracing.exporter.getFinishedSpans()) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no ack' });
      expect(span.attributes['error.type']).toBe('timeout');
    }
  });

  it('keeps the send itself from making spans of its own (the instrumentation would re-parent the events)', async () => {
    const recording = await untracedSend(async () => trace.getTracer('kafkajs').startSpan('send events').isRecording());
    expect(recording).toBe(false);
  });
});
