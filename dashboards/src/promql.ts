// The label matchers and PromQL shapes the three dashboards share. Grafana replaces the `$…`
// variables before the query reaches Prometheus.
import { job, monitoring } from './config';

// kafka-exporter's series of the consumers' own group and topics are selected by a join on what
// the consumers report (`ofConsumers`, the rules' CONSUMER_INFO), never by a name fixed here.
import { bucketBound } from './alerts';
export { CONSUMER_INFO, DEAD_LETTER_INFO, ofConsumers } from './alerts';

/** Grafana's rate window: at least four scrape intervals, whatever the zoom. */
export const RATE_INTERVAL = '$__rate_interval';

/** The dashboards' template variables and the label each one filters. */
export const VARIABLES = { instance: 'instance', topic: 'topic' } as const;
export type VariableName = keyof typeof VARIABLES;

const instance = `instance=~"$${VARIABLES.instance}"`;
const topic = `topic=~"$${VARIABLES.topic}"`;

/** Matchers for the selected instances of a service, or of both (the Node.js runtime metrics). */
export const on = {
  producer: `${job('producer')},${instance}`,
  consumer: `${job('consumer')},${instance}`,
  services: `job=~"${monitoring.jobs.producer}|${monitoring.jobs.consumer}",${instance}`,
  exporter: job('kafkaExporter'),
  /** kafka-exporter's series of the selected topics. */
  topics: `${job('kafkaExporter')},${topic}`,
  /** The consumer's own per-partition series of the selected topics. */
  consumerTopics: `${job('consumer')},${instance},${topic}`,
} as const;

/** `metric{matchers}`; empty matchers leave the braces out. */
export function series(metric: string, ...matchers: string[]): string {
  const labels = matchers.filter((matcher) => matcher !== '').join(',');
  return labels === '' ? metric : `${metric}{${labels}}`;
}

export function rate(selector: string): string {
  return `rate(${selector}[${RATE_INTERVAL}])`;
}

/** `sum by (labels) (expr)`, or a plain `sum(expr)` without labels. */
export function sumBy(labels: string[], expr: string): string {
  return labels.length === 0 ? `sum(${expr})` : `sum by (${labels.join(', ')}) (${expr})`;
}

export function maxBy(labels: string[], expr: string): string {
  return `max by (${labels.join(', ')}) (${expr})`;
}

/** The q-quantile of a histogram over every series the matchers select. */
export function quantile(q: number, histogram: string, ...matchers: string[]): string {
  return `histogram_quantile(${q}, ${sumBy(['le'], rate(series(`${histogram}_bucket`, ...matchers)))})`;
}

/** Mean of a histogram's observations: sum over count. */
export function mean(histogram: string, ...matchers: string[]): string {
  return `${sumBy([], rate(series(`${histogram}_sum`, ...matchers)))} / ${sumBy([], rate(series(`${histogram}_count`, ...matchers)))}`;
}

/**
 * Share of a histogram's observations at or below `le`, which must be one of its bucket bounds
 * as the exposition writes it (the SLOs in config.ts are); `bucketBound` matches how Prometheus stores it.
 */
export function shareWithin(le: string, histogram: string, ...matchers: string[]): string {
  const within = sumBy([], rate(series(`${histogram}_bucket`, ...matchers, bucketBound(le))));
  const all = sumBy([], rate(series(`${histogram}_count`, ...matchers)));
  return `${within} / ${all}`;
}
