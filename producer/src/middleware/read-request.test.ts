import Koa from 'koa';
import request from 'supertest';
import { createLogger, createMetricsRegistry } from '@event-pipeline/common';
import { createProducerMetrics } from '../metrics';
import { requestEdge } from './request-edge';
import type { ReadState } from './ingest-state';
import { ReceiveBudget } from '../receive-budget';
import { declaredBodyBytes, readRequest } from './read-request';

/** readRequest behind the request edge; a 200 answers what it left on ctx.state. */
function appReading({
  maxEventsPerRequest = 10,
  receiveBudget,
}: { maxEventsPerRequest?: number; receiveBudget?: ReceiveBudget } = {}) {
  const app = new Koa<ReadState>()
    .use(
      requestEdge({
        logger: createLogger({ service: 'test', level: 'silent' }),
        httpDuration: createProducerMetrics(createMetricsRegistry()).httpDuration,
      }),
    )
    .use(
      readRequest({
        bodyLimitBytes: 10_000,
        bodyTimeoutMs: 5_000,
        maxEventsPerRequest,
        ...(receiveBudget ? { receiveBudget } : {}),
        retryAfterSeconds: 3,
      }),
    )
    .use((ctx) => {
      ctx.body = ctx.state;
    });
  return { server: app.callback() };
}

describe('readRequest', () => {
  it('leaves the checked events, their mode, how many were sent and the Idempotency-Key on the state', async () => {
    const { server } = appReading();
    const response = await request(server)
      .post('/events')
      .set('idempotency-key', 'retry-1')
      .send([{ type: 'a' }, { type: 'b', data: { n: 1 } }])
      .expect(200);
    expect(response.body).toEqual({
      received: 2,
      idempotencyKey: 'retry-1',
      request: { mode: 'plain', isBatch: true, events: [{ type: 'a' }, { type: 'b', data: { n: 1 } }] },
    });
  });

  it('when a batch is refused, counts as invalid as many events as it tried to send, up to the limit', async () => {
    const { server } = appReading({ maxEventsPerRequest: 3 });
    await request(server)
      .post('/events')
      .send([{ type: 'a' }, { nope: 1 }])
      .expect(400);
    await request(server).post('/events').send([{}, {}, {}, {}, {}]).expect(400);
    await request(server).post('/events').send([]).expect(400);
  });

  it('when the body is no JSON, or the Idempotency-Key is malformed, counts one invalid event', async () => {
    const { server } = appReading();
    const malformed = await request(server)
      .post('/events')
      .set('content-type', 'application/json')
      .send('[{')
      .expect(400);
    expect(malformed.body.type).toBe('urn:event-pipeline:problem:malformed-json');
    const badKey = await request(server).post('/events').set('idempotency-key', 'has space').send({ type: 'a' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.type).toBe('urn:event-pipeline:problem:invalid-header');
  });

  it('refuses at once a body the receive budget has no room for: 503 overloaded, Retry-After, connection closed', async () => {
    const receiveBudget = new ReceiveBudget(20_000, { smallBodyBytes: 1000 });
    const held = receiveBudget.take(14_000)!; // large bodies being received elsewhere: their share is full
    const { server } = appReading({ receiveBudget });
    const large = await request(server)
      .post('/events')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ type: 'a', data: 'x'.repeat(2000) }));
    expect(large.status).toBe(503);
    expect(large.headers['retry-after']).toBe('3');
    expect(large.headers.connection).toBe('close');
    expect(large.body).toMatchObject({
      type: 'urn:event-pipeline:problem:overloaded',
      title: 'Too many request bodies being received',
    });

    // A small body still fits in the quarter kept for small ones, and gives its bytes back.
    await request(server).post('/events').send({ type: 'a' }).expect(200);
    expect(receiveBudget.usedBytes).toBe(14_000);
    held();
    await request(server)
      .post('/events')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ type: 'a', data: 'x'.repeat(2000) }))
      .expect(200);
    expect(receiveBudget.usedBytes).toBe(0);
  });

  it('gives the budget back when the body is refused', async () => {
    const receiveBudget = new ReceiveBudget(20_000);
    const { server } = appReading({ receiveBudget });
    await request(server).post('/events').set('content-type', 'application/json').send('[{').expect(400);
    expect(receiveBudget.usedBytes).toBe(0);
  });
});

describe('declaredBodyBytes', () => {
  it('is the Content-Length, the body limit when chunked or unreadable, and nothing when over the limit (413)', () => {
    expect(declaredBodyBytes('512', 10_000)).toBe(512);
    expect(declaredBodyBytes('', 10_000)).toBe(10_000);
    expect(declaredBodyBytes('abc', 10_000)).toBe(10_000);
    expect(declaredBodyBytes('20000', 10_000)).toBe(0);
  });
});
