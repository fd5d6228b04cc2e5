import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { createLogger, createMetricsRegistry, toKafkaRecord } from '@event-pipeline/common';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import type { EventHandler } from './handler';
import { createConsumerMetrics } from './metrics';
import type { DeadLetterReason, InboundMessage, MessageControl, MessageSource } from './source';
import { createWorker } from './worker';

// The worker's decisions in isolation: an in-memory source hands it one message at a time.
function harness(
  handler: EventHandler,
  {
    maxAttempts = 3,
    initialDelayMs = 1,
    deadLetterFails = false,
    handlerTimeoutMs = 1000,
    heartbeatIntervalMs = 1000,
  } = {},
) {
  let onMessage!: (message: InboundMessage, control: MessageControl) => Promise<void>;
  const source: MessageSource = {
    start: async (callback) => {
      onMessage = callback;
    },
    stop: async () => undefined,
    readiness: () => ({ ready: true }),
  };
  const deadLettered: Array<{ message: InboundMessage; reason: DeadLetterReason }> = [];
  const heartbeats: number[] = [];
  const worker = createWorker({
    source,
    deadLetter: {
      publish: async (message, reason) => {
        if (deadLetterFails) throw new Error('dead-letter topic unavailable');
        deadLettered.push({ message, reason });
      },
    },
    handler,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createConsumerMetrics(createMetricsRegistry()),
    retry: { maxAttempts, initialDelayMs, maxDelayMs: initialDelayMs },
    handlerTimeoutMs,
    deadLetterTimeoutMs: 1000,
    heartbeatIntervalMs,
  });
  const deliver = (message: InboundMessage) =>
    onMessage(message, { heartbeat: async () => void heartbeats.push(Date.now()) });
  return { worker, deliver, deadLettered, heartbeats };
}

function message(offset: string): InboundMessage {
  const record = toKafkaRecord(
    {
      specversion: '1.0',
      id: `e-${offset}`,
      source: 's',
      type: 't',
      time: new Date(0).toISOString(),
      data: { offset },
    },
    Date.now(),
  );
  return { ...record, key: Buffer.from(record.key), topic: 'events', partition: 0, offset };
}

describe('the worker', () => {
  it('makes exactly MAX_ATTEMPTS attempts, then dead-letters', async () => {
    const attempts: number[] = [];
    const { worker, deliver, deadLettered } = harness({
      handle: (_event, context) => {
        attempts.push(context.attempt);
        throw new Error('down');
      },
    });
    await worker.start();
    await deliver(message('7'));
    expect(attempts).toEqual([1, 2, 3]);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]!.reason.attempts).toBe(3);
  });

  it('dead-letters a record that is not a CloudEvent without calling the handler', async () => {
    const handle = jest.fn();
    const { worker, deliver, deadLettered } = harness({ handle });
    await worker.start();
    await deliver({ ...message('1'), headers: {} });
    expect(handle).not.toHaveBeenCalled();
    expect(deadLettered[0]!.reason.attempts).toBe(1);
  });

  it('leaves a failing message unacknowledged and not dead-lettered when stopped mid-retry', async () => {
    const { worker, deliver, deadLettered } = harness(
      {
        handle: () => {
          throw new Error('down');
        },
      },
      { maxAttempts: 5, initialDelayMs: 10_000 },
    );
    await worker.start();
    const delivery = deliver(message('3'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await worker.stop();
    await expect(delivery).rejects.toThrow();
    expect(deadLettered).toEqual([]);
  });

  it('fails the message (so it comes again) when the dead-letter write fails', async () => {
    const { worker, deliver } = harness(
      {
        handle: () => {
          throw Object.assign(new Error('bad'), { retriable: false });
        },
      },
      { deadLetterFails: true },
    );
    await worker.start();
    await expect(deliver(message('9'))).rejects.toThrow('dead-letter topic unavailable');
  });

  it('fails an attempt that outlives HANDLER_TIMEOUT_MS, aborting its signal, and keeps the group alive meanwhile', async () => {
    const signals: AbortSignal[] = [];
    const { worker, deliver, deadLettered, heartbeats } = harness(
      {
        handle: (_event, context) => {
          signals.push(context.signal);
          return new Promise<void>(() => undefined); // never settles
        },
      },
      { maxAttempts: 2, handlerTimeoutMs: 60, heartbeatIntervalMs: 10 },
    );
    await worker.start();
    await deliver(message('4'));
    expect(signals).toHaveLength(2);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    expect(deadLettered[0]!.reason.error).toMatchObject({ name: 'HandlerTimeoutError' });
    expect(heartbeats.length).toBeGreaterThanOrEqual(4);
  });

  it('dead-letters an event whose handler throws something unprintable', async () => {
    const cyclic: Record<string, unknown> = { retriable: false, big: 10n };
    cyclic.self = cyclic;
    const { worker, deliver, deadLettered } = harness({
      handle: () => {
        throw cyclic;
      },
    });
    await worker.start();
    await deliver(message('5'));
    expect(deadLettered).toHaveLength(1);
  });
});

describe("the worker's spans", () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.exporter.reset());

  /** Delivers inside a stand-in for the KafkaJS instrumentation's `process` span. */
  async function deliverTraced(deliver: (message: InboundMessage) => Promise<void>, offset: string) {
    const processSpan = trace.getTracer('kafkajs').startSpan('process events', { kind: SpanKind.CONSUMER });
    await context.with(trace.setSpan(context.active(), processSpan), () => deliver(message(offset)));
    processSpan.end();
    const spans = tracing.exporter.getFinishedSpans();
    return {
      process: spans.find((span) => span.name === 'process events')!,
      attempts: spans.filter((span) => span.name === 'handle event'),
    };
  }

  it('makes a span per attempt inside the process span, and a retry event per failed one', async () => {
    const { worker, deliver } = harness({
      handle: (_event, context) => {
        if (context.attempt < 3) throw new Error('down');
      },
    });
    await worker.start();
    const { process, attempts } = await deliverTraced(deliver, '11');

    expect(attempts.map((span) => span.attributes['event.attempt'])).toEqual([1, 2, 3]);
    expect(attempts.map((span) => span.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    for (const attempt of attempts) expect(attempt.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    expect(process.events.map((event) => event.name)).toEqual(['retry', 'retry']);
    expect(process.attributes).toMatchObject({ 'cloudevents.event_id': 'e-11', 'cloudevents.event_type': 't' });
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks the process span failed, with a dead-letter event, when the event is dead-lettered', async () => {
    const { worker, deliver, deadLettered } = harness({
      handle: () => {
        throw Object.assign(new Error('bad data'), { retriable: false });
      },
    });
    await worker.start();
    const { process, attempts } = await deliverTraced(deliver, '12');

    expect(deadLettered).toHaveLength(1);
    expect(attempts).toHaveLength(1);
    expect(process.events.map((event) => event.name)).toEqual(['dead_letter']);
    expect(process.events[0]!.attributes).toMatchObject({ 'dead_letter.reason': 'not retriable' });
    expect(process.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad data' });
  });
});
