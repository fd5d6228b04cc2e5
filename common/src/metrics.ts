import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isSpanContextValid, TraceFlags, type SpanContext } from '@opentelemetry/api';
import accepts from 'accepts';
import {
  collectDefaultMetrics,
  Counter,
  Histogram,
  Registry,
  type HistogramConfiguration,
  type Metric,
  type MetricObject,
  type OpenMetricsContentType,
} from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The services' registry. It is an OpenMetrics registry because prom-client allows exemplars
 * only there; `exposeMetrics` still serves the classic text format to scrapers that ask for it.
 */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/** A registry with the default Node.js process metrics. */
export function createMetricsRegistry(): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  // Before any metric is registered: prom-client checks at registration that exemplars have an
  // OpenMetrics registry.
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The exemplar labels of one observation: the trace it belongs to, or none (`{}`). */
export type TraceExemplar = { trace_id: string } | Record<string, never>;

const NO_EXEMPLAR: TraceExemplar = Object.freeze({});

/**
 * The exemplar for an observation made in the span of `spanContext`: its trace id, when the span
 * is sampled (only then is the trace in the backend to jump to). prom-client keeps no exemplar
 * for an empty label set, so an unsampled span, no span, or telemetry switched off
 * (OTEL_SDK_DISABLED) observe the value alone. "trace_id" and 32 hex digits stay well under the
 * 128 characters OpenMetrics allows an exemplar's labels.
 */
export function traceExemplar(spanContext: SpanContext | undefined): TraceExemplar {
  if (!spanContext || !isSpanContextValid(spanContext)) return NO_EXEMPLAR;
  if ((spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return NO_EXEMPLAR;
  return { trace_id: spanContext.traceId };
}

/**
 * A histogram whose observations carry their trace as an exemplar. With exemplars on,
 * prom-client takes only the object form of `observe` (`observe(0.1)` would throw at run time),
 * so this type offers only that form.
 */
export interface ExemplarHistogram<T extends string = string> extends Omit<Histogram<T>, 'observe'> {
  observe(data: { value: number; labels?: Partial<Record<T, string | number>>; exemplarLabels: TraceExemplar }): void;
}

/** A histogram with exemplars on; its registers must be OpenMetrics registries. */
export function createExemplarHistogram<T extends string = string>(
  configuration: HistogramConfiguration<T>,
): ExemplarHistogram<T> {
  return new Histogram({ ...configuration, enableExemplars: true }) as unknown as ExemplarHistogram<T>;
}

const OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text';
const CLASSIC_MEDIA_TYPE = 'text/plain';

/**
 * An `Accept` header with every media-type parameter dropped but `q`. Prometheus asks for
 * OpenMetrics with a version and, lately, an `escaping=...`; all of them read what prom-client
 * writes, so only the types and their q-values take part in the choice.
 */
function typesAndWeights(accept: string): string {
  return accept
    .split(',')
    .map((range) => {
      const [type = '', ...parameters] = range.split(';');
      const weight = parameters.find((parameter) => /^\s*q\s*=/i.test(parameter));
      return weight === undefined ? type.trim() : `${type.trim()};${weight.trim()}`;
    })
    .join(',');
}

/**
 * Whether a scraper's `Accept` prefers OpenMetrics to the classic text format, as HTTP content
 * negotiation decides it (the `accepts` package): the higher q wins, each type taking its q
 * from the most specific range that matches it, so `text/*;q=0.1, *∕*` prefers OpenMetrics and
 * `text/plain;q=0` refuses the classic format; at equal q the type the header names first
 * wins. Prometheus asks for OpenMetrics first; curl's `*∕*` or no header at all gets the
 * classic format, which people read.
 */
export function prefersOpenMetrics(request: { headers: IncomingHttpHeaders }): boolean {
  const accept = request.headers.accept;
  if (accept === undefined || accept.trim() === '') return false;
  const negotiation = accepts({ headers: { accept: typesAndWeights(accept) } } as IncomingMessage);
  return negotiation.type([CLASSIC_MEDIA_TYPE, OPENMETRICS_MEDIA_TYPE]) === OPENMETRICS_MEDIA_TYPE;
}

export interface MetricsExposition {
  contentType: string;
  body: string;
}

/**
 * The answer to a scrape: OpenMetrics 1.0.0, with exemplars, when the scraper prefers it; else
 * the classic Prometheus text format 0.0.4, without exemplars (an older scraper would reject
 * their syntax). The registry itself is never switched between formats, so concurrent scrapes
 * in different formats cannot see each other's.
 */
export async function exposeMetrics(
  registry: MetricsRegistry,
  request: { headers: IncomingHttpHeaders },
): Promise<MetricsExposition> {
  if (prefersOpenMetrics(request)) return { contentType: registry.contentType, body: await registry.metrics() };
  return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await classicText(registry) };
}

/**
 * The registry's metrics in the classic text format, written by prom-client's own classic
 * registry, made for this one scrape. It holds the same metric objects (so nothing is counted
 * twice); the classic format leaves their exemplars out.
 */
export async function classicText(registry: MetricsRegistry): Promise<string> {
  const classic = new Registry();
  for (const metric of registry.getMetricsAsArray()) classic.registerMetric(asClassic(metric));
  return classic.metrics();
}

/**
 * prom-client's OpenMetrics writer renames a counter for good, dropping `_total` from its name
 * (its samples get it back). A counter is therefore seen through a view named `<name>_total`,
 * as counters are named in the classic format, whichever format was scraped before.
 */
function asClassic(metric: MetricObject): Metric {
  if (!(metric instanceof Counter)) return metric as unknown as Metric;
  const counter: Counter = metric;
  const name = `${metric.name.replace(/_total$/, '')}_total`;
  const view = {
    name,
    get: async () => ({ ...(await counter.get()), name }),
  };
  return view as unknown as Metric;
}
