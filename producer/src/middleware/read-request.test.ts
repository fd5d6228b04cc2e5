import Koa from 'koa';
import request from 'supertest';
import { createLogger } from '@event-pipeline/common';
import { errorEdge } from './error-edge';
import type { ReadState } from './ingest-state';
import { readRequest } from './read-request';

/** readRequest behind the error edge; a 200 answers what it left on ctx.state. */
function appReading({ maxEventsPerRequest = 10 } = {}) {
  const count = jest.fn();
  const app = new Koa<ReadState>()
    .use(errorEdge(createLogger({ service: 'test', level: 'silent' })))
    .use(readRequest({ bodyLimitBytes: 10_000, bodyTimeoutMs: 5_000, maxEventsPerRequest, count }))
    .use((ctx) => {
      ctx.body = ctx.state;
    });
  return { server: app.callback(), count };
}

describe('readRequest', () => {
  it('leaves the checked events, their mode, how many were sent and the Idempotency-Key on the state', async () => {
    const { server, count } = appReading();
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
    expect(count).not.toHaveBeenCalled();
  });

  it('when a batch is refused, counts as invalid as many events as it tried to send, up to the limit', async () => {
    const { server, count } = appReading({ maxEventsPerRequest: 3 });
    await request(server)
      .post('/events')
      .send([{ type: 'a' }, { nope: 1 }])
      .expect(400);
    await request(server).post('/events').send([{}, {}, {}, {}, {}]).expect(400);
    await request(server).post('/events').send([]).expect(400);
    expect(count.mock.calls).toEqual([
      ['invalid', 2],
      ['invalid', 3],
      ['invalid', 1],
    ]);
  });

  it('when the body is no JSON, or the Idempotency-Key is malformed, counts one invalid event', async () => {
    const { server, count } = appReading();
    const malformed = await request(server)
      .post('/events')
      .set('content-type', 'application/json')
      .send('[{')
      .expect(400);
    expect(malformed.body.type).toBe('urn:event-pipeline:problem:malformed-json');
    const badKey = await request(server).post('/events').set('idempotency-key', 'has space').send({ type: 'a' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.type).toBe('urn:event-pipeline:problem:invalid-header');
    expect(count.mock.calls).toEqual([
      ['invalid', 1],
      ['invalid', 1],
    ]);
  });
});
