import path from 'node:path';
import { fromKafkaRecord, type OutboundRecord } from '@event-pipeline/common';
import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { DataSchemas } from '../events/data-schemas';
import { idempotentEventId } from '../events/idempotency';
import type { EventsRequest } from '../events/read-events';
import type { EventCandidate } from '../events/validate';
import { checkEvents } from './check-events';
import type { CallerState, CheckedState, ReadState } from './ingest-state';

const eventOf = (record: OutboundRecord) =>
  fromKafkaRecord({ ...record, key: record.key === null ? null : Buffer.from(record.key) }).event;

const schemas = DataSchemas.load(path.resolve(__dirname, '../../../schemas'));

function read(
  events: EventCandidate[],
  {
    idempotencyKey = '',
    caller,
    mode = 'plain',
  }: { idempotencyKey?: string; caller?: string; mode?: EventsRequest['mode'] } = {},
) {
  const ctx = koaContext<CallerState & ReadState & CheckedState>();
  Object.assign(ctx.state, {
    request: { mode, isBatch: mode !== 'binary' && events.length > 1, events },
    idempotencyKey,
    received: events.length,
    ...(caller !== undefined ? { caller } : {}),
  });
  return ctx;
}

function check({ schemasRequired = false } = {}) {
  return {
    middleware: checkEvents({ schemas, schemasRequired, eventSource: 'urn:test', retryAfterSeconds: 1 }),
  };
}

describe('checkEvents', () => {
  it('completes each event into a record, in request order: its own id and time kept, the rest filled', async () => {
    const { middleware } = check();
    const ctx = read([
      { type: 'a', subject: 's-1' },
      { type: 'b', id: 'mine', time: '2026-01-01T00:00:00Z' },
    ]);
    const next = jest.fn(async () => undefined);
    await runMiddleware(middleware, ctx, next);
    expect(next).toHaveBeenCalledTimes(1);
    const events = ctx.state.records.map(eventOf);
    expect(ctx.state.ids).toEqual(events.map((event) => event.id));
    expect(events[0]).toMatchObject({ type: 'a', subject: 's-1', source: 'urn:test' });
    expect(events[1]).toMatchObject({ type: 'b', id: 'mine', time: '2026-01-01T00:00:00Z' });
    expect(ctx.state.records[0]!.key).toBe('s-1');
  });

  it("derives the ids of an Idempotency-Key's events in the caller's scope, one scope for all without API keys", async () => {
    const { middleware } = check();
    const ids = async (caller?: string) => {
      const ctx = read([{ type: 'a' }, { type: 'b' }], { idempotencyKey: 'k', ...(caller ? { caller } : {}) });
      await runMiddleware(middleware, ctx);
      return ctx.state.ids;
    };
    expect(await ids()).toEqual([idempotentEventId('anonymous', 'k', 0), idempotentEventId('anonymous', 'k', 1)]);
    expect(await ids('key:0011223344556677')).toEqual([
      idempotentEventId('key:0011223344556677', 'k', 0),
      idempotentEventId('key:0011223344556677', 'k', 1),
    ]);
  });

  it("sets the dataschema of an event that passed its type's schema", async () => {
    const { middleware } = check();
    const ctx = read([{ type: 'com.example.page.viewed', data: { path: '/' } }]);
    await runMiddleware(middleware, ctx);
    expect(eventOf(ctx.state.records[0]!).dataschema).toBe('urn:event-pipeline:schema:com.example.page.viewed:1');
  });

  it('when one event violates its schema, answers 422 naming it, leaves nothing to publish and counts every event as invalid', async () => {
    const { middleware } = check();
    const ctx = read([{ type: 'free.form' }, { type: 'com.example.page.viewed', data: {} }]);
    const next = jest.fn();
    await expect(runMiddleware(middleware, ctx, next)).rejects.toMatchObject({
      status: 422,
      type: 'urn:event-pipeline:problem:schema-violation',
      extensions: { errors: [{ index: 1, pointer: '/1/data/path', message: "must have required property 'path'" }] },
    });
    expect(ctx.state.records).toBeUndefined();
    expect(next).not.toHaveBeenCalled();
  });

  it('when schemas are required, refuses a type without one', async () => {
    const { middleware } = check({ schemasRequired: true });
    await expect(runMiddleware(middleware, read([{ type: 'free.form' }]))).rejects.toMatchObject({
      status: 422,
      extensions: { errors: [expect.objectContaining({ attribute: 'type', pointer: '/type' })] },
    });
  });

  it('when Avro data breaks its schema, answers 422 with a JSON pointer per failing field, undeclared fields included', async () => {
    const { middleware } = check();
    const ctx = read([
      { type: 'com.example.page.viewed', data: { path: '/' } },
      {
        type: 'com.example.payment.authorized',
        data: { paymentId: 'p-1', amountCents: '12', currency: 'EUR', method: 'CHEQUE', note: 'x' },
      },
    ]);
    const failure = await runMiddleware(middleware, ctx).then(
      () => undefined,
      (error: unknown) => error as { status: number; extensions: { errors: Array<Record<string, unknown>> } },
    );
    expect(failure?.status).toBe(422);
    expect(failure?.extensions.errors).toEqual(
      expect.arrayContaining([
        { index: 1, pointer: '/1/data/orderId', message: 'is required (a string)' },
        { index: 1, pointer: '/1/data/amountCents', message: 'must be an integer (long)' },
        { index: 1, pointer: '/1/data/method', message: 'must be one of CARD, TRANSFER, WALLET' },
        { index: 1, pointer: '/1/data', message: 'has fields the schema does not declare: note' },
      ]),
    );
    expect(ctx.state.records).toBeUndefined();
  });

  it('without a registry, Avro data that passes its schema travels as the JSON it came as', async () => {
    const { middleware } = check();
    const data = { paymentId: 'p-1', orderId: 'o-1', amountCents: 1250, currency: 'EUR', method: 'CARD' };
    const ctx = read([{ type: 'com.example.payment.authorized', data }]);
    await runMiddleware(middleware, ctx);
    const event = eventOf(ctx.state.records[0]!);
    expect(event.data).toEqual(data);
    expect(event.dataschema).toBe('urn:event-pipeline:schema:com.example.payment.authorized:2');
  });
});
