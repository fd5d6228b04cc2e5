import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { createMetricsRegistry } from '@event-pipeline/common';
import { koaContext } from '../../../test/support/koa-context';
import { startTestTracing, type TestTracing } from '../../../test/support/tracing';
import { createProducerMetrics } from '../metrics';
import { observeHttpDuration } from './http-metrics';

function histogram() {
  const registry = createMetricsRegistry();
  const observe = observeHttpDuration(createProducerMetrics(registry).httpDuration);
  const counts = async () =>
    (await registry.metrics())
      .split('\n')
      .filter((line) => line.startsWith('http_server_request_duration_seconds_count'));
  return { observe, counts, registry };
}

describe('observeHttpDuration', () => {
  it('observes the status the request was answered with, under its route template', async () => {
    const { observe, counts } = histogram();
    const ctx = koaContext({ url: '/events?tenant=42' });
    await observe(ctx, async () => {
      (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/events';
      ctx.status = 202;
    });
    expect(await counts()).toContain(
      'http_server_request_duration_seconds_count{method="POST",route="/events",status_code="202"} 1',
    );
  });

  it('labels a request no route matched as unmatched, never with its raw path', async () => {
    const { observe, counts } = histogram();
    const ctx = koaContext({ method: 'GET', url: '/no/such/path?id=42' });
    await observe(ctx, async () => {
      ctx.status = 404;
    });
    const lines = await counts();
    expect(lines).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1',
    );
    expect(lines.join('\n')).not.toContain('/no/such/path');
  });

  describe('with tracing', () => {
    let tracing: TestTracing;
    beforeAll(() => (tracing = startTestTracing()));
    afterAll(() => tracing.stop());

    it("takes the request's trace as the exemplar of its observation", async () => {
      const { observe, registry } = histogram();
      const span = trace.getTracer('test').startSpan('POST /events');
      const ctx = koaContext();
      await context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
        observe(ctx, async () => {
          ctx.status = 202;
        }),
      );
      span.end();
      const withExemplar = (await registry.metrics())
        .split('\n')
        .filter((line) => line.includes(`# {trace_id="${span.spanContext().traceId}"}`));
      expect(withExemplar).toHaveLength(1);
      expect(withExemplar[0]).toMatch(/^http_server_request_duration_seconds_bucket\{.*status_code="202"/);
    });
  });
});
