import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { createLogger, createMetricsRegistry, toKafkaRecord, type CloudEvent } from '@event-pipeline/common';
import { REDRIVE_HEADERS } from './dead-letter-headers';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import { NonRetriableError, type EventHandler } from './handler';
import { keepHeartbeating } from './heartbeat-keeper';
import { createConsumerMetrics } from './metrics';
import { createRecentlyProcessed, type RecentlyProcessed } from './recently-processed';
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
    recentlyProcessed = undefined as RecentlyProcessed | undefined,
    now = Date.now,
    heartbeat = async (): Promise<void> => undefined,
  } = {},
) {
  let onMessage!: (message: InboundMessage, control: MessageControl) => void | Promise<void>;
  const source: MessageSource = {
    start: async (callback) => {
      onMessage = callback;
    },
    stop: async () => undefined,
    readiness: () => ({ ready: true }),
  };
  const deadLettered: Array<{ message: InboundMessage; reason: DeadLetterReason; traceparent?: string }> = [];
  const heartbeats: number[] = [];
  let dlqDown = deadLetterFails;
  const registry = createMetricsRegistry();
  const metrics = createConsumerMetrics(registry);
  const worker = createWorker({
    source,
    deadLetter: {
      topic: 'events.dlq',
      publish: async (message, reason) => {
        if (dlqDown) throw new Error('dead-letter topic unavailable');
        // What the Kafka sink writes into the dead letter's headers: the active context.
        const carrier: Record<string, string> = {};
        propagation.inject(context.active(), carrier);
        deadLettered.push({ message, reason, ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}) });
      },
    },
    handler,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics,
    retry: { maxAttempts, initialDelayMs, maxDelayMs: initialDelayMs },
    handlerTimeoutMs,
    deadLetterTimeoutMs: 1000,
    recentlyProcessed,
    now,
  });
  // As the Kafka source does per batch: the group hears from us while the message is in hand.
  const deliver = async (message: InboundMessage) => {
    const membership = keepHeartbeating(async () => {
      heartbeats.push(Date.now());
      await heartbeat();
    }, heartbeatIntervalMs);
    try {
      await onMessage(message, { membership });
    } finally {
      membership.stop();
    }
  };
  const setDeadLetterDown = (down: boolean) => {
    dlqDown = down;
  };
  return { worker, deliver, deadLettered, heartbeats, metrics, registry, setDeadLetterDown };
}

function message(offset: string, { id = `e-${offset}`, source = 's', acceptedAt = Date.now() } = {}): InboundMessage {
  const record = toKafkaRecord(
    {
      specversion: '1.0',
      id,
      source,
      type: 't',
      time: new Date(0).toISOString(),
      data: { offset },
    },
    acceptedAt,
  );
  return {
    ...record,
    key: record.key === null ? null : Buffer.from(record.key),
    topic: 'events',
    partition: 0,
    offset,
  };
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

describe('the worker deciding what to retry', () => {
  const gaveUp = (cause: Error) =>
    new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 100 } as never);
  const refused = () =>
    new KafkaJSProtocolError({
      message: 'Not authorized to access topics',
      type: 'TOPIC_AUTHORIZATION_FAILED',
      code: 29,
      retriable: false,
    } as never);

  // A behaviour change from the handler's error being judged by its top-level flag alone: that
  // flag on KafkaJSNumberOfRetriesExceeded says only that KafkaJS stopped its own retries.
  it("when a handler's own KafkaJS client gave up on an unreachable broker, then the worker retries the event", async () => {
    const attempts: number[] = [];
    const { worker, deliver, deadLettered } = harness({
      handle: (_event, context) => {
        attempts.push(context.attempt);
        throw gaveUp(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'));
      },
    });
    await worker.start();
    await deliver(message('21'));
    expect(attempts).toEqual([1, 2, 3]);
    expect(deadLettered[0]!.reason.attempts).toBe(3);
  });

  it("when a handler's own KafkaJS client gave up on a refusal from Kafka, then the worker dead-letters at once", async () => {
    const attempts: number[] = [];
    const { worker, deliver, deadLettered } = harness({
      handle: (_event, context) => {
        attempts.push(context.attempt);
        throw gaveUp(refused());
      },
    });
    await worker.start();
    await deliver(message('22'));
    expect(attempts).toEqual([1]);
    expect(deadLettered).toHaveLength(1);
  });

  it('when the cause of a handler error is not retriable, then the event is dead-lettered at once', async () => {
    const handle = jest.fn(() => {
      throw new Error('could not store the order', { cause: new NonRetriableError('order has no customer') });
    });
    const { worker, deliver, deadLettered } = harness({ handle });
    await worker.start();
    await deliver(message('23'));
    expect(handle).toHaveBeenCalledTimes(1);
    expect(deadLettered).toHaveLength(1);
  });
});

describe('the worker when it loses its place in the group', () => {
  it('when a heartbeat fails during a long attempt, then the heartbeat error is thrown and nothing is dead-lettered', async () => {
    const rebalancing = new Error('The group is rebalancing, so a rejoin is needed');
    const handle = jest.fn(() => new Promise<void>((resolve) => setTimeout(resolve, 50)));
    const { worker, deliver, deadLettered, metrics } = harness(
      { handle },
      {
        heartbeatIntervalMs: 10,
        heartbeat: async () => {
          throw rebalancing;
        },
      },
    );
    await worker.start();
    await expect(deliver(message('31'))).rejects.toBe(rebalancing);
    expect(handle).toHaveBeenCalledTimes(1);
    expect(deadLettered).toEqual([]);
    expect((await metrics.processed.get()).values.filter(({ value }) => value > 0)).toEqual([]);
  });

  it('when a heartbeat fails during the wait for a retry, then no attempt follows and the heartbeat error is thrown', async () => {
    const rebalancing = new Error('The group is rebalancing, so a rejoin is needed');
    let beats = 0;
    const handle = jest.fn(() => {
      throw new Error('down');
    });
    const { worker, deliver, deadLettered } = harness(
      { handle },
      {
        // Long enough that the second heartbeat (at 20 ms) falls inside the wait.
        initialDelayMs: 1000,
        heartbeatIntervalMs: 10,
        heartbeat: async () => {
          beats += 1;
          if (beats > 1) throw rebalancing;
        },
      },
    );
    await worker.start();
    await expect(deliver(message('32'))).rejects.toBe(rebalancing);
    expect(handle).toHaveBeenCalledTimes(1);
    expect(deadLettered).toEqual([]);
  });
});

describe("the worker's latency metrics", () => {
  it("measures end-to-end latency from the producer's acceptance stamp (the record timestamp), not from receipt", async () => {
    const acceptedAt = 1_800_000_000_000;
    const { worker, deliver, registry } = harness({ handle: () => undefined }, { now: () => acceptedAt + 2500 });
    await worker.start();
    await deliver(message('1', { acceptedAt }));

    const exposition = await registry.metrics();
    expect(exposition).toContain('events_end_to_end_latency_seconds_sum 2.5');
    expect(exposition).toContain('events_end_to_end_latency_seconds_count 1');
  });

  it('counts a dead-lettered event in the end-to-end latency too', async () => {
    const { worker, deliver, registry } = harness({
      handle: () => {
        throw new NonRetriableError('bad data');
      },
    });
    await worker.start();
    await deliver(message('2'));

    expect(await registry.metrics()).toContain('events_end_to_end_latency_seconds_count 1');
  });
});

describe('the worker with a window of recently processed events', () => {
  const window = () => createRecentlyProcessed({ maxEntries: 100, maxAgeMs: 0 });
  const counted = async (metrics: ReturnType<typeof harness>['metrics']) => ({
    duplicates: (await metrics.duplicates.get()).values[0]?.value ?? 0,
    durations: (await metrics.processingDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
  });

  it('handles an event once and drops (acknowledges) a later copy with the same source and id, counting it', async () => {
    const handled: string[] = [];
    const { worker, deliver, metrics } = harness(
      { handle: (event) => void handled.push(`${event.source} ${event.id}`) },
      { recentlyProcessed: window() },
    );
    await worker.start();
    await deliver(message('1', { id: 'order-1' }));
    await expect(deliver(message('2', { id: 'order-1' }))).resolves.toBeUndefined();
    // Same id from another source is another event.
    await deliver(message('3', { id: 'order-1', source: 'other' }));
    expect(handled).toEqual(['s order-1', 'other order-1']);
    // A dropped duplicate is no processing: it stays out of the duration histogram.
    expect(await counted(metrics)).toEqual({ duplicates: 1, durations: 2 });
  });

  it('handles the copy of an event whose handling failed (nothing is remembered before success)', async () => {
    let failures = 1;
    const handled: string[] = [];
    const { worker, deliver, setDeadLetterDown } = harness(
      {
        handle: (event) => {
          if (failures-- > 0) throw new NonRetriableError('bad');
          handled.push(event.id);
        },
      },
      { recentlyProcessed: window(), deadLetterFails: true },
    );
    await worker.start();
    // The dead-letter write fails, so the event is not done: it comes again and is handled then.
    await expect(deliver(message('1', { id: 'x' }))).rejects.toThrow('dead-letter write failed');
    setDeadLetterDown(false);
    await deliver(message('1', { id: 'x' }));
    expect(handled).toEqual(['x']);
  });

  it('drops a copy of a dead-lettered event instead of dead-lettering it again', async () => {
    const handle = jest.fn(() => {
      throw new NonRetriableError('bad');
    });
    const { worker, deliver, deadLettered, metrics } = harness({ handle }, { recentlyProcessed: window() });
    await worker.start();
    await deliver(message('1', { id: 'poison' }));
    await deliver(message('2', { id: 'poison' }));
    expect(handle).toHaveBeenCalledTimes(1);
    expect(deadLettered).toHaveLength(1);
    expect((await counted(metrics)).duplicates).toBe(1);
  });

  it('handles a redriven copy of a dead-lettered event, then drops a copy of that one', async () => {
    let fixed = false;
    const handled: string[] = [];
    const handle = jest.fn((event: CloudEvent) => {
      if (!fixed) throw new NonRetriableError('bad');
      handled.push(event.id);
    });
    const { worker, deliver, deadLettered, metrics } = harness({ handle }, { recentlyProcessed: window() });
    await worker.start();
    await deliver(message('1', { id: 'poison' }));
    expect(deadLettered).toHaveLength(1);
    fixed = true;
    const redriven = (offset: string): InboundMessage => {
      const copy = message(offset, { id: 'poison' });
      return { ...copy, headers: { ...copy.headers, [REDRIVE_HEADERS.from]: Buffer.from('events.dlq/0/0') } };
    };
    await deliver(redriven('2'));
    expect(handled).toEqual(['poison']);
    // The same redrive sent twice: the second copy is a duplicate of a handled event.
    await deliver(redriven('3'));
    expect(handle).toHaveBeenCalledTimes(2);
    expect((await counted(metrics)).duplicates).toBe(1);
  });

  it('handles every copy without a window', async () => {
    const handle = jest.fn();
    const { worker, deliver, metrics } = harness({ handle });
    await worker.start();
    await deliver(message('1', { id: 'same' }));
    await deliver(message('2', { id: 'same' }));
    expect(handle).toHaveBeenCalledTimes(2);
    expect((await counted(metrics)).duplicates).toBe(0);
  });
});

describe("the worker's spans", () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.exporter.reset());

  /** Delivers a message that carries a producer span's context in its traceparent header, as ours do. */
  async function deliverTraced(deliver: (message: InboundMessage) => Promise<void>, offset: string, sampled = true) {
    const send = trace.getTracer('producer').startSpan('send events', { kind: SpanKind.PRODUCER });
    const parent = sampled
      ? trace.setSpan(ROOT_CONTEXT, send)
      : trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext({ ...send.spanContext(), traceFlags: TraceFlags.NONE }));
    send.end();
    const inbound = message(offset);
    const headers: Record<string, string> = {};
    propagation.inject(parent, headers);
    for (const [name, value] of Object.entries(headers)) inbound.headers[name] = Buffer.from(value);
    await deliver(inbound);
    const spans = tracing.exporter.getFinishedSpans();
    return {
      send,
      spans,
      process: spans.find((span) => span.name === 'process events')!,
      retries: spans.filter((span) => span.name === 'retry event'),
    };
  }

  it("makes one process span per event, a child of the producer's send span, carrying the outcome", async () => {
    const { worker, deliver } = harness({ handle: () => undefined });
    await worker.start();
    const { send, spans, process } = await deliverTraced(deliver, '10');

    expect(spans.map((span) => span.name)).toEqual(['send events', 'process events']);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'events',
      'messaging.kafka.offset': '10',
      'cloudevents.event_id': 'e-10',
      'event.outcome': 'handled',
      'event.attempts': 1,
    });
  });

  it('runs the first attempt in the process span and gives each retry a span of its own, with a retry event per failed attempt', async () => {
    const activeSpans: Array<string | undefined> = [];
    const { worker, deliver } = harness({
      handle: (_event, context) => {
        activeSpans.push(trace.getActiveSpan()?.spanContext().spanId);
        if (context.attempt < 3) throw new Error('down');
      },
    });
    await worker.start();
    const { process, retries } = await deliverTraced(deliver, '11');

    expect(retries.map((span) => span.attributes['event.attempt'])).toEqual([2, 3]);
    expect(retries.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    for (const retry of retries) expect(retry.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    expect(activeSpans).toEqual([process.spanContext().spanId, ...retries.map((span) => span.spanContext().spanId)]);
    expect(process.events.map((event) => event.name)).toEqual(['retry', 'retry']);
    expect(process.attributes).toMatchObject({ 'event.outcome': 'handled', 'event.attempts': 3 });
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks a dropped duplicate by its outcome on the process span, and makes no other span', async () => {
    const { worker, deliver } = harness(
      { handle: () => undefined },
      { recentlyProcessed: createRecentlyProcessed({ maxEntries: 10, maxAgeMs: 0 }) },
    );
    await worker.start();
    await deliverTraced(deliver, '13');
    tracing.exporter.reset();
    const { spans, process } = await deliverTraced(deliver, '13');

    expect(spans.map((span) => span.name)).toEqual(['send events', 'process events']);
    expect(process.attributes['event.outcome']).toBe('duplicate');
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('handles an event whose traceparent header has no value (KafkaJS gives null), in a trace of its own', async () => {
    const handle = jest.fn();
    const { worker, deliver } = harness({ handle });
    await worker.start();
    const inbound = message('17');
    (inbound.headers as Record<string, unknown>).traceparent = null;
    await deliver(inbound);
    expect(handle).toHaveBeenCalledTimes(1);
    const process = tracing.exporter.getFinishedSpans().find((span) => span.name === 'process events')!;
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.attributes['event.outcome']).toBe('handled');
  });

  it('makes no span for an event whose trace is not sampled', async () => {
    const { worker, deliver } = harness({ handle: () => undefined });
    await worker.start();
    const { spans } = await deliverTraced(deliver, '16', false);
    expect(spans.map((span) => span.name)).toEqual(['send events']);
  });

  it("gives the processing and end-to-end histograms the event's trace as exemplar", async () => {
    const { worker, deliver, registry } = harness({ handle: () => undefined });
    await worker.start();
    const { process } = await deliverTraced(deliver, '14');

    const exemplar = `# {trace_id="${process.spanContext().traceId}"}`;
    const buckets = (await registry.metrics()).split('\n').filter((line) => line.includes('_bucket'));
    for (const histogram of ['events_processing_duration_seconds', 'events_end_to_end_latency_seconds']) {
      expect(buckets.filter((line) => line.startsWith(histogram) && line.includes(exemplar))).toHaveLength(1);
    }
  });

  it('gives no exemplar to an event whose trace is not sampled', async () => {
    const { worker, deliver, registry } = harness({ handle: () => undefined });
    await worker.start();
    await deliverTraced(deliver, '15', false);

    const exposition = await registry.metrics();
    expect(exposition).toContain('events_end_to_end_latency_seconds_count 1');
    expect(exposition).not.toContain('trace_id');
  });

  it("marks the process span failed, with a dead-letter event and the dead-letter write's span under it", async () => {
    const { worker, deliver, deadLettered } = harness({
      handle: () => {
        throw Object.assign(new Error('bad data'), { retriable: false });
      },
    });
    await worker.start();
    const { process, retries, spans } = await deliverTraced(deliver, '12');

    expect(deadLettered).toHaveLength(1);
    expect(retries).toHaveLength(0);
    expect(process.events.map((event) => event.name)).toEqual(['dead_letter']);
    expect(process.events[0]!.attributes).toMatchObject({ 'dead_letter.reason': 'not retriable' });
    expect(process.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad data' });
    expect(process.attributes).toMatchObject({ 'event.outcome': 'dead_lettered', 'event.attempts': 1 });
    const write = spans.find((span) => span.name === 'send events.dlq')!;
    expect(write.kind).toBe(SpanKind.PRODUCER);
    expect(write.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    expect(deadLettered[0]!.traceparent).toBe(`00-${write.spanContext().traceId}-${write.spanContext().spanId}-01`);
  });

  it('marks an event left unfinished by a failed dead-letter write, with the failed write under it', async () => {
    const { worker, deliver } = harness(
      {
        handle: () => {
          throw Object.assign(new TypeError('bad data'), { retriable: false });
        },
      },
      { deadLetterFails: true },
    );
    await worker.start();
    const { process, spans } = await deliverTraced(
      (inbound) => expect(deliver(inbound)).rejects.toThrow('dead-letter topic unavailable'),
      '18',
    );

    expect(process.attributes).toMatchObject({ 'event.outcome': 'unfinished', 'error.type': 'TypeError' });
    expect(process.status).toEqual({ code: SpanStatusCode.ERROR, message: 'left unfinished' });
    const write = spans.find((span) => span.name === 'send events.dlq')!;
    expect(write.attributes['error.type']).toBe('Error');
    expect(write.status).toEqual({ code: SpanStatusCode.ERROR, message: 'dead-letter topic unavailable' });
  });
});
