import { AggregatorRegistry, Registry, type OpenMetricsContentType } from 'prom-client';
import type { MetricsRegistry } from '@event-pipeline/common';

/** One sample as `Registry.getMetricsAsJSON()` gives it, exemplar included. */
export interface SampleSnapshot {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string | number>; value: number; timestamp: number } | null;
}

/** One metric as `Registry.getMetricsAsJSON()` gives it; it crosses the cluster's IPC channel as is. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values: SampleSnapshot[];
}

/** Every metric of one process at one moment. */
export type ProcessSnapshot = MetricSnapshot[];

/** Counters and histograms only ever grow; a process that is gone still counted what it counted. */
const CUMULATIVE_TYPES = new Set(['counter', 'histogram', 'summary']);

/**
 * A counter's name with `_total`, whatever prom-client made of it: its OpenMetrics writer drops
 * the suffix from a counter's name for good once that registry was scraped in that format.
 */
function canonicalName(metric: MetricSnapshot): string {
  return metric.type === 'counter' ? `${metric.name.replace(/_total$/, '')}_total` : metric.name;
}

function sampleKey(sample: SampleSnapshot, metricName: string): string {
  const labels = Object.entries(sample.labels)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${sample.metricName ?? metricName}${JSON.stringify(labels)}`;
}

/**
 * The metrics of the whole producer from those of its processes, the way prom-client's
 * `AggregatorRegistry.aggregate` adds them up (each metric by its `aggregator`: counters,
 * histograms and most gauges summed; `events_producer_kafka_ready` the least; an info gauge the
 * most), with two things it leaves out put back:
 * - exemplars: each bucket keeps the newest exemplar any process holds for it
 *   (`AggregatorFactory` builds each sample anew with its value and labels only);
 * - metrics whose aggregator is `omit` (`process_start_time_seconds`): taken from the first
 *   snapshot that has them, the primary's, which started first and stops last.
 */
export function mergeProcessMetrics(snapshots: readonly ProcessSnapshot[]): ProcessSnapshot {
  const named = snapshots.map((snapshot) => snapshot.map((metric) => ({ ...metric, name: canonicalName(metric) })));
  const omitted = new Map<string, MetricSnapshot>();
  const exemplars = new Map<string, NonNullable<SampleSnapshot['exemplar']>>();
  for (const snapshot of named) {
    for (const metric of snapshot) {
      if (metric.aggregator === 'omit') {
        if (!omitted.has(metric.name)) omitted.set(metric.name, metric);
        continue;
      }
      for (const sample of metric.values) {
        if (!sample.exemplar) continue;
        const key = sampleKey(sample, metric.name);
        const held = exemplars.get(key);
        if (!held || held.timestamp < sample.exemplar.timestamp) exemplars.set(key, sample.exemplar);
      }
    }
  }
  const aggregated = AggregatorRegistry.aggregate(
    named.map((snapshot) => snapshot.filter((metric) => metric.aggregator !== 'omit')),
  );
  const merged: ProcessSnapshot = [];
  for (const wrapper of aggregated.getMetricsAsArray()) {
    // aggregate() registers plain objects whose get() returns the merged metric at once.
    const metric = (wrapper as unknown as { get(): MetricSnapshot }).get();
    merged.push({
      name: metric.name,
      help: metric.help,
      type: metric.type,
      ...(metric.aggregator ? { aggregator: metric.aggregator } : {}),
      values: metric.values.map((sample) => {
        const exemplar = exemplars.get(sampleKey(sample, metric.name));
        return exemplar ? { ...sample, exemplar } : sample;
      }),
    });
  }
  return [...merged, ...omitted.values()];
}

/**
 * What the processes that are gone still contribute: their counters and histograms as last
 * collected, added to `retired`. Scrapes after a worker died or was replaced then never see a
 * counter of the producer go down, which Prometheus would take for a restart from zero. Gauges
 * (memory, events in flight) are not kept: they end with their process.
 */
export function retireProcess(retired: ProcessSnapshot, last: ProcessSnapshot): ProcessSnapshot {
  const cumulative = last.filter((metric) => CUMULATIVE_TYPES.has(metric.type) && metric.aggregator !== 'omit');
  return mergeProcessMetrics([retired, cumulative]);
}

/**
 * A registry that serves `metrics` (merged snapshots) to `exposeMetrics`: OpenMetrics with the
 * exemplars, or the classic text format. Each metric is a view whose samples are named after
 * the view, so the OpenMetrics writer's renaming of counters (see canonicalName) stays inside
 * this registry, made for one scrape.
 */
export function registryOf(metrics: ProcessSnapshot): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of metrics) {
    const view = {
      name: metric.name,
      help: metric.help,
      type: metric.type,
      aggregator: metric.aggregator,
      get: async () => ({ ...metric, name: view.name }),
    };
    registry.registerMetric(view as unknown as Parameters<MetricsRegistry['registerMetric']>[0]);
  }
  return registry;
}
