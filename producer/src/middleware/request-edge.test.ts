import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import Koa, { type Middleware } from 'koa';
import request from 'supertest';
import { createMetricsRegistry, type Logger } from '@event-pipeline/common';
import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { startTestTracing, type TestTracing } from '../../../test/support/tracing';
import { createProducerMetrics } from '../metrics';
import { problems } from '../problem';
import { RequestTracker } from '../request-tracker';
import { requestEdge, type RequestEdgeOptions } from './request-edge';

const quiet = { error: jest.fn(), warn: jest.fn() } as unknown as Logger;

/** The edge with its own metrics registry; `counts` reads the duration histogram's counts. */
function edge(options: Partial<RequestEdgeOptions> = {}) {
  const registry = createMetricsRegistry();
  const middleware = requestEdge({
    logger: quiet,
    httpDuration: createProducerMetrics(registry).httpDuration,
    ...options,
  });
  const counts = async () =>
    (await registry.metrics())
      .split('\n')
      .filter((line) => line.startsWith('http_server_request_duration_seconds_count'));
  return Object.assign(middleware, { counts, registry });
}

function appAnswering(handler: Middleware) {
  const logger = { error: jest.fn(), warn: jest.fn() };
  const app = new Koa().use(edge({ logger: logger as unknown as Logger })).use(handler);
  return { app, logged: logger.error, warned: logger.warn };
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

describe('requestEdge: requests in progress', () => {
  it('counts a request while it is in progress, and lets the shut-down go once it answered', async () => {
    const tracker = new RequestTracker();
    let during = 0;
    await runMiddleware(edge({ requests: tracker }), koaContext(), async () => {
      during = tracker.inProgress;
    });
    expect(during).toBe(1);
    expect(tracker.inProgress).toBe(0);
    await expect(tracker.idle(10)).resolves.toBe(true);
  });

  it('stops counting a request that failed (answered as a problem)', async () => {
    const tracker = new RequestTracker();
    const ctx = koaContext();
    await runMiddleware(edge({ requests: tracker }), ctx, () => Promise.reject(new Error('boom')));
    expect(ctx.status).toBe(500);
    expect(tracker.inProgress).toBe(0);
  });
});

describe('requestEdge: while draining', () => {
  it('closes the connection of every answer while draining, also of a failed request', async () => {
    let draining = false;
    const close = edge({ isDraining: () => draining });
    const before = koaContext({ method: 'GET', url: '/health/live' });
    await runMiddleware(close, before, async () => undefined);
    expect(before.response.get('connection')).toBeUndefined();

    draining = true;
    const answered = koaContext({ method: 'GET', url: '/health/live' });
    await runMiddleware(close, answered, async () => undefined);
    expect(answered.response.get('connection')).toBe('close');
    const failed = koaContext();
    await runMiddleware(close, failed, () => Promise.reject(new Error('boom')));
    expect(failed.status).toBe(500);
    expect(failed.response.get('connection')).toBe('close');
  });
});

describe('requestEdge: the duration histogram', () => {
  it('observes the status the request was answered with, under its route template', async () => {
    const observe = edge();
    const ctx = koaContext({ url: '/events?tenant=42' });
    await runMiddleware(observe, ctx, async () => {
      (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/events';
      ctx.status = 202;
      ctx.body = '{}';
    });
    expect(await observe.counts()).toContain(
      'http_server_request_duration_seconds_count{method="POST",route="/events",status_code="202"} 1',
    );
  });

  it('observes a failure with the status the edge answered it with', async () => {
    const observe = edge();
    await runMiddleware(observe, koaContext(), () => Promise.reject(problems.rateLimited(1, 'too fast')));
    expect(await observe.counts()).toContain(
      'http_server_request_duration_seconds_count{method="POST",route="unmatched",status_code="429"} 1',
    );
  });

  it('labels a request no route matched as unmatched, never with its raw path', async () => {
    const observe = edge();
    const ctx = koaContext({ method: 'GET', url: '/no/such/path?id=42' });
    await runMiddleware(observe, ctx, async () => {
      ctx.status = 404;
    });
    const lines = await observe.counts();
    expect(lines).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1',
    );
    expect(lines.join('\n')).not.toContain('/no/such/path');
  });
});

describe('requestEdge: the server span', () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.exporter.reset());

  it("makes the request's SERVER span, named by its route, continuing the client's traceparent, active for the rest of the request", async () => {
    const ctx = koaContext({
      url: '/events?tenant=42',
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, host: 'events.example:8080', 'user-agent': 'test' },
    });
    let active: string | undefined;
    await runMiddleware(edge(), ctx, async () => {
      (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/events';
      active = (await import('@opentelemetry/api')).trace.getActiveSpan()?.spanContext().traceId;
      ctx.status = 202;
    });
    const [span] = tracing.exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: 'POST /events', kind: SpanKind.SERVER });
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(active).toBe(TRACE_ID);
    expect(span!.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/events',
      'http.response.status_code': 202,
      'url.path': '/events',
      'url.query': 'tenant=42',
      'url.scheme': 'http',
      'server.address': 'events.example',
      'server.port': 8080,
      'user_agent.original': 'test',
    });
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks a 5xx answer as an error of the server, a 4xx not', async () => {
    for (const status of [503, 400]) {
      const ctx = koaContext();
      await runMiddleware(edge(), ctx, async () => {
        ctx.status = status;
      });
    }
    const [unavailable, invalid] = tracing.exporter.getFinishedSpans();
    expect(unavailable!.status.code).toBe(SpanStatusCode.ERROR);
    expect(unavailable!.attributes['error.type']).toBe('503');
    expect(invalid!.status.code).toBe(SpanStatusCode.UNSET);
    expect(invalid!.name).toBe('POST');
  });

  it('makes no span for probes and scrapes', async () => {
    for (const url of ['/metrics', '/health', '/health/ready']) {
      await runMiddleware(edge(), koaContext({ method: 'GET', url }));
    }
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
  });

  it("records the problem type on the request's span, and the exception of a 5xx", async () => {
    const { app } = appAnswering(() => {
      throw new TypeError('secret internals');
    });
    await request(app.callback()).get('/x').expect(500);
    const [finished] = tracing.exporter.getFinishedSpans();
    expect(finished!.attributes['problem.type']).toBe('urn:event-pipeline:problem:internal');
    expect(finished!.events).toEqual([
      expect.objectContaining({
        name: 'exception',
        attributes: expect.objectContaining({ 'exception.message': 'secret internals' }),
      }),
    ]);
  });

  it("takes the request's trace as the exemplar of its observation", async () => {
    const observe = edge();
    const ctx = koaContext();
    let traceId: string | undefined;
    await runMiddleware(observe, ctx, async () => {
      traceId = trace.getActiveSpan()?.spanContext().traceId;
      ctx.status = 202;
      ctx.body = '{}';
    });
    const withExemplar = (await observe.registry.metrics())
      .split('\n')
      .filter((line) => line.includes(`# {trace_id="${traceId!}"}`));
    expect(withExemplar).toHaveLength(1);
    expect(withExemplar[0]).toMatch(/^http_server_request_duration_seconds_bucket\{.*status_code="202"/);
  });
});

describe('requestEdge: failures', () => {
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
});
