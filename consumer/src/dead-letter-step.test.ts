import { Writable } from 'node:stream';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { KafkaJSProtocolError } from 'kafkajs';
import { classicText, createLogger, createMetricsRegistry } from '@event-pipeline/common';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import { createDeadLetterStep, DeadLetterError, type FailedEvent } from './dead-letter-step';
import { MembershipLostError, type HeartbeatKeeper } from './heartbeat-keeper';
import { createConsumerMetrics } from './metrics';
import type { DeadLetterSink, InboundMessage } from './source';

const message: InboundMessage = {
  topic: 'events',
  partition: 0,
  offset: '7',
  key: null,
  value: Buffer.from('{}'),
  headers: {},
  timestamp: '0',
};

function step(publish: DeadLetterSink['publish']) {
  const lines: Array<{ msg: string; level: number }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as { msg: string; level: number });
      done();
    },
  });
  const registry = createMetricsRegistry();
  const run = createDeadLetterStep({
    sink: { topic: 'events.dlq', publish },
    timeoutMs: 1000,
    metrics: createConsumerMetrics(registry),
    log: createLogger({ service: 'test', level: 'debug', destination }),
    now: Date.now,
  });
  const exposition = async () => (await classicText(registry)).split('\n');
  return { run, lines, exposition };
}

const held: HeartbeatKeeper = { check: () => undefined, stop: () => undefined };
const rebalance = new KafkaJSProtocolError({
  message: 'The group is rebalancing, so a rejoin is needed',
  type: 'REBALANCE_IN_PROGRESS',
  code: 27,
} as never);
const lost: HeartbeatKeeper = {
  check: () => {
    throw new MembershipLostError(rebalance.message, { cause: rebalance });
  },
  stop: () => undefined,
};

describe('the dead-letter step', () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.exporter.reset());

  const failed = (membership: HeartbeatKeeper): FailedEvent => ({
    message,
    error: new Error('handler gave up'),
    attempts: 3,
    eventId: 'e-7',
    processSpan: trace.getTracer('test').startSpan('process events'),
    membership,
  });

  it('when the copy is acknowledged and the membership holds, then it counts the event dead-lettered', async () => {
    const { run, exposition } = step(async () => undefined);
    await run(failed(held));
    expect(await exposition()).toEqual(
      expect.arrayContaining([
        'events_processed_total{outcome="dead_lettered"} 1',
        'events_dead_letter_failures_total 0',
      ]),
    );
  });

  it('when the write fails, then it says the write failed, counts it, and throws DeadLetterError', async () => {
    const { run, lines, exposition } = step(async () => {
      throw new Error('dead-letter topic unavailable');
    });
    const thrown = await run(failed(held)).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(DeadLetterError);
    expect((thrown as Error).message).toBe('dead-letter write failed: dead-letter topic unavailable');
    expect(lines.map((line) => line.msg)).toContain('dead-letter write failed');
    expect(await exposition()).toContain('events_dead_letter_failures_total 1');
    const send = tracing.exporter.getFinishedSpans().find((span) => span.name === 'send events.dlq')!;
    expect(send.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('when the group moved on after the copy was written, then it says so, not that the write failed, and throws the heartbeat error', async () => {
    const { run, lines, exposition } = step(async () => undefined);
    const thrown = await run(failed(lost)).catch((error: unknown) => error);

    // What the worker throws for a lost membership anywhere: the heartbeat's own error, which
    // KafkaJS answers by rejoining; the original stays uncommitted for the partition's next owner.
    expect(thrown).toBe(rebalance);
    const messages = lines.map((line) => line.msg);
    expect(messages).not.toContain('dead-letter write failed');
    expect(messages).toContain(
      'dead letter written, but the group moved on before the original was committed: its next owner processes the event again',
    );
    const after = await exposition();
    expect(after).toContain('events_dead_letter_failures_total 0');
    expect(after).toContain('events_processed_total{outcome="dead_lettered"} 0');
    const send = tracing.exporter.getFinishedSpans().find((span) => span.name === 'send events.dlq')!;
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
  });
});
