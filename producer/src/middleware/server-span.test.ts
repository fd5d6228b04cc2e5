import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { startTestTracing, type TestTracing } from '../../../test/support/tracing';
import { traceRequests } from './server-span';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

describe('traceRequests', () => {
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
    await runMiddleware(traceRequests(), ctx, async () => {
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
      await runMiddleware(traceRequests(), ctx, async () => {
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
      await runMiddleware(traceRequests(), koaContext({ method: 'GET', url }));
    }
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
  });
});
