import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import Koa, { type Middleware } from 'koa';
import request from 'supertest';
import type { Logger } from '@event-pipeline/common';
import { startTestTracing, type TestTracing } from '../../../test/support/tracing';
import { problems } from '../problem';
import { errorEdge } from './error-edge';

function appAnswering(handler: Middleware) {
  const logger = { error: jest.fn(), warn: jest.fn() };
  const app = new Koa().use(errorEdge(logger as unknown as Logger)).use(handler);
  return { app, logged: logger.error, warned: logger.warn };
}

describe('errorEdge', () => {
  it('answers a Problem as problem+json with its status, headers and the path as instance', async () => {
    const { app, logged } = appAnswering(() => {
      throw problems.rateLimited(4, 'too fast');
    });
    const response = await request(app.callback()).post('/events').send({}).expect(429);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['retry-after']).toBe('4');
    expect(JSON.parse(response.text)).toEqual({
      type: 'urn:event-pipeline:problem:rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: 'too fast',
      instance: '/events',
    });
    expect(logged).not.toHaveBeenCalled();
  });

  it("keeps an exposed 4xx HTTP error's status and headers, as an http-<status> problem", async () => {
    const { app } = appAnswering((ctx) => ctx.throw(400, 'no good', { headers: { 'x-why': 'because' } }));
    const response = await request(app.callback()).get('/x').expect(400);
    expect(response.headers['x-why']).toBe('because');
    expect(JSON.parse(response.text)).toMatchObject({ type: 'urn:event-pipeline:problem:http-400', title: 'no good' });
  });

  it('answers any other failure with a 500 that hides it, and logs it', async () => {
    const { app, logged } = appAnswering(() => {
      throw new TypeError('secret internals');
    });
    const response = await request(app.callback()).get('/x').expect(500);
    expect(response.text).not.toContain('secret');
    expect(JSON.parse(response.text)).toEqual({
      type: 'urn:event-pipeline:problem:internal',
      title: 'Internal server error',
      status: 500,
      instance: '/x',
    });
    expect(logged).toHaveBeenCalledWith({ err: 'secret internals', method: 'GET', path: '/x' }, 'request failed');
  });

  it('does not log a 503 as a fault: it is back-pressure', async () => {
    const { app, logged, warned } = appAnswering(() => {
      throw problems.overloaded(1, 'too many');
    });
    await request(app.callback()).get('/x').expect(503);
    expect(logged).not.toHaveBeenCalled();
    expect(warned).not.toHaveBeenCalled();
  });

  it("keeps a dependency's own words of a 503 in a warning, out of the answer", async () => {
    const { app, logged, warned } = appAnswering(() => {
      throw problems.unavailable(1, 'connect ECONNREFUSED 10.0.0.7:9092');
    });
    const response = await request(app.callback()).get('/x').expect(503);
    expect(response.text).not.toContain('ECONNREFUSED');
    expect(logged).not.toHaveBeenCalled();
    expect(warned).toHaveBeenCalledWith(
      expect.objectContaining({
        err: 'connect ECONNREFUSED 10.0.0.7:9092',
        problem: 'urn:event-pipeline:problem:kafka-unavailable',
      }),
      'request refused: a dependency is unavailable',
    );
  });

  it('turns a bare error status without a body into its problem', async () => {
    const { app } = appAnswering((ctx) => {
      ctx.status = 405;
    });
    const response = await request(app.callback()).delete('/events').expect(405);
    expect(JSON.parse(response.text)).toMatchObject({
      type: 'urn:event-pipeline:problem:method-not-allowed',
      detail: 'DELETE is not allowed on /events',
    });
    const unmatched = await request(appAnswering(() => undefined).app.callback())
      .get('/nothing')
      .expect(404);
    expect(JSON.parse(unmatched.text)).toMatchObject({ type: 'urn:event-pipeline:problem:not-found' });
  });

  it('closes the connection when it answers before the whole body arrived', async () => {
    const { app } = appAnswering(() => {
      throw problems.unsupportedMediaType('text/plain', ['application/json']);
    });
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const pending = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/events' });
      pending.setHeader('content-length', '100000');
      pending.on('error', () => undefined);
      pending.write('x');
      const [response] = (await once(pending, 'response')) as [http.IncomingMessage];
      expect(response.statusCode).toBe(415);
      expect(response.headers.connection).toBe('close');
      pending.destroy();
    } finally {
      server.close();
    }
  });

  describe('with tracing', () => {
    let tracing: TestTracing;
    beforeAll(() => (tracing = startTestTracing()));
    afterAll(() => tracing.stop());

    it("records the problem type on the request's span, and the exception of a 5xx", async () => {
      const cause = new TypeError('secret internals');
      const { app } = appAnswering(() => {
        throw cause;
      });
      const span = trace.getTracer('test').startSpan('GET /x');
      const server = app.callback();
      await request((req: http.IncomingMessage, res: http.ServerResponse) =>
        context.with(trace.setSpan(ROOT_CONTEXT, span), () => server(req, res)),
      )
        .get('/x')
        .expect(500);
      span.end();
      const [finished] = tracing.exporter.getFinishedSpans();
      expect(finished!.attributes['problem.type']).toBe('urn:event-pipeline:problem:internal');
      expect(finished!.events).toEqual([
        expect.objectContaining({
          name: 'exception',
          attributes: expect.objectContaining({ 'exception.message': 'secret internals' }),
        }),
      ]);
    });
  });
});
