import { INVALID_SPAN_CONTEXT, TraceFlags, type SpanContext } from '@opentelemetry/api';
import {
  classicText,
  Counter,
  createExemplarHistogram,
  createMetricsRegistry,
  exposeMetrics,
  Gauge,
  Histogram,
  prefersOpenMetrics,
  Registry,
  traceExemplar,
  type MetricsRegistry,
} from './metrics';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const sampled: SpanContext = { traceId: TRACE_ID, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };

// What Prometheus sends: 2.x (scrape_classic_histograms off) and 3.x (its default scrape_protocols).
const PROMETHEUS_2 =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

const withAccept = (accept?: string) => ({ headers: accept === undefined ? {} : { accept } });

/** An OpenMetrics registry with one metric of each kind, without the default process metrics. */
function sampleRegistry(registry: MetricsRegistry | Registry, exemplars: boolean) {
  const counter = new Counter({
    name: 'test_events_total',
    help: 'Events.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  counter.inc({ outcome: 'ok' }, 3);
  counter.inc({ outcome: 'failed' }, 0);
  new Gauge({ name: 'test_in_flight', help: 'In flight.', registers: [registry] }).set(2);
  const config = { name: 'test_duration_seconds', help: 'Duration.', buckets: [0.1, 1], registers: [registry] };
  if (exemplars) {
    const histogram = createExemplarHistogram(config);
    histogram.observe({ value: 0.05, exemplarLabels: traceExemplar(sampled) });
    histogram.observe({ value: 0.5, exemplarLabels: traceExemplar(undefined) });
  } else {
    const histogram = new Histogram(config);
    histogram.observe(0.05);
    histogram.observe(0.5);
  }
}

function openMetricsRegistry(): MetricsRegistry {
  const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  sampleRegistry(registry, true);
  return registry;
}

describe('negotiating the format of /metrics', () => {
  it.each([
    ['Prometheus 2', PROMETHEUS_2],
    ['Prometheus 3', PROMETHEUS_3],
    ['a bare OpenMetrics request', 'application/openmetrics-text'],
    ['OpenMetrics preferred by q', 'text/plain;q=0.5, application/openmetrics-text;q=0.9'],
    ['text/* weighed below */*', 'text/*;q=0.1, */*'],
    ['the classic format refused', 'text/plain;q=0, */*'],
    ['application/* over a lower text/plain', 'application/*, text/plain;q=0.5'],
    ['both at the same q, OpenMetrics named first', 'application/openmetrics-text;q=0.5, text/plain;q=0.5'],
  ])('answers OpenMetrics to %s', (_who, accept) => {
    expect(prefersOpenMetrics(withAccept(accept))).toBe(true);
  });

  it.each([
    ['no Accept header', undefined],
    ['curl (*/*)', '*/*'],
    ['the classic format', 'text/plain;version=0.0.4'],
    ['classic text preferred by q', 'text/plain, application/openmetrics-text;q=0.5'],
    ['OpenMetrics refused (q=0)', 'application/openmetrics-text;q=0, */*;q=0.1'],
    ['a type that is neither', 'application/json'],
    ['an empty Accept header', ''],
    ['both at the same q, the classic format named first', 'text/plain;q=0.5, application/openmetrics-text;q=0.5'],
  ])('answers the classic text format to %s', (_who, accept) => {
    expect(prefersOpenMetrics(withAccept(accept))).toBe(false);
  });
});

describe('exposing the metrics', () => {
  it('writes OpenMetrics with the exemplar of a sampled trace, and no exemplar for an observation without one', async () => {
    const { contentType, body } = await exposeMetrics(openMetricsRegistry(), withAccept(PROMETHEUS_2));
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(body).toMatch(
      new RegExp(
        `^test_duration_seconds_bucket\\{le="0.1"\\} 1 # \\{trace_id="${TRACE_ID}"\\} 0.05 \\d+(\\.\\d+)?$`,
        'm',
      ),
    );
    expect(body).toMatch(/^test_duration_seconds_bucket\{le="1"\} 2$/m);
    // OpenMetrics names a counter without _total and its samples with it, and ends with # EOF.
    expect(body).toContain('# TYPE test_events counter\ntest_events_total{outcome="ok"} 3');
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('writes the classic text format without exemplar syntax, counters named with _total', async () => {
    const registry = openMetricsRegistry();
    const { contentType, body } = await exposeMetrics(registry, withAccept('*/*'));
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(body).not.toContain(' # {');
    expect(body).not.toContain('# EOF');
    expect(body).toMatch(/^test_duration_seconds_bucket\{le="0.1"\} 1$/m);
    expect(body).toContain('# TYPE test_events_total counter\ntest_events_total{outcome="ok"} 3');
  });

  it('writes, from an OpenMetrics registry, exactly what a classic registry writes, also after an OpenMetrics scrape renamed its counters', async () => {
    const classic = new Registry();
    sampleRegistry(classic, false);
    const expected = await classic.metrics();

    const registry = openMetricsRegistry();
    expect(await classicText(registry)).toBe(expected);
    await registry.metrics();
    expect(await classicText(registry)).toBe(expected);
  });

  it('keeps each format whole while scrapes in both formats interleave', async () => {
    const registry = openMetricsRegistry();
    const scrapes = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        exposeMetrics(registry, withAccept(index % 2 === 0 ? PROMETHEUS_3 : undefined)),
      ),
    );
    scrapes.forEach(({ contentType, body }, index) => {
      if (index % 2 === 0) {
        expect(contentType).toMatch(/^application\/openmetrics-text/);
        expect(body).toContain('# TYPE test_events counter');
        expect(body).toContain(`# {trace_id="${TRACE_ID}"}`);
      } else {
        expect(contentType).toMatch(/^text\/plain/);
        expect(body).toContain('# TYPE test_events_total counter');
        expect(body).not.toContain(' # {');
      }
    });
  });

  it('serves the default Node.js process metrics from an OpenMetrics registry', async () => {
    const registry = createMetricsRegistry();
    expect(registry.contentType).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await classicText(registry)).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(await registry.metrics()).toMatch(/^process_cpu_user_seconds_total \d/m);
  });
});

describe('the exemplar of an observation', () => {
  it("is the trace id of a sampled span, under OpenMetrics' 128 characters", () => {
    const exemplar = traceExemplar(sampled);
    expect(exemplar).toEqual({ trace_id: TRACE_ID });
    expect(Object.entries(exemplar).flat().join('').length).toBeLessThan(128);
  });

  it.each([
    ['an unsampled span', { ...sampled, traceFlags: TraceFlags.NONE }],
    ['an invalid span context (telemetry off)', INVALID_SPAN_CONTEXT],
    ['no span', undefined],
  ])('is none for %s', (_what, spanContext) => {
    expect(traceExemplar(spanContext)).toEqual({});
  });
});
