/**
 * The one place for what the dashboards and the alert rules select and where they draw the line.
 * Change a value here, run `npm run monitoring:generate`, and commit the regenerated files
 * (dashboards/generated/ and observability/prometheus/rules/); a unit test fails while they are stale.
 */
export const monitoring = {
  /** Prometheus job names (observability/prometheus/prometheus.yml). */
  jobs: {
    producer: 'producer',
    consumer: 'consumer',
    kafkaExporter: 'kafka-exporter',
  },
  // No consumer group or topic here: the rules and panels join kafka-exporter's series on the
  // names the services report (`events_consumer_info`, alerts.ts), so CONSUMER_GROUP, EVENTS_TOPIC
  // and DLQ_TOPIC can change without an edit or a regeneration.
  /** The producer's route template in `http_server_request_duration_seconds`. */
  ingestRoute: '/events',

  /** Service level objectives; the burn-rate alerts page on how fast the error budget goes. */
  slo: {
    /** Share of POST /events requests answered within `seconds` (a bucket bound of the histogram). */
    ingestLatency: { objective: 0.99, seconds: '0.25' },
    /** Share of events processed within `seconds` of being accepted (a bucket bound of the histogram). */
    endToEndLatency: { objective: 0.99, seconds: '5' },
    /**
     * Observations a burn-rate window must hold before it can page: on a quiet stack one slow
     * request among six is not a burning budget.
     */
    minObservations: 100,
  },

  thresholds: {
    /** Share of POST /events requests answered with a 5xx (a 429 or other 4xx is the client's). */
    ingestErrorRatio: 0.05,
    /** Messages the group is behind on a topic (sum over partitions). */
    consumerLagMessages: 1000,
    /** Age of the oldest unfinished event on a partition. */
    consumerLagSeconds: 60,
    /** Brokers the cluster should have. */
    kafkaBrokers: 1,
  },

  /** How long a condition must hold before its alert fires. */
  for: {
    targetDown: '1m',
    producerNotReady: '2m',
    consumerNotReady: '5m',
    consumerGroupEmpty: '2m',
    ingestErrorRatio: '5m',
    burnFast: '2m',
    burnSlow: '15m',
    consumerLag: '5m',
    deadLetters: '1m',
    kafkaBrokersMissing: '30s',
    schemaRegistryUnavailable: '2m',
  },

  /** Where the alerts' `runbook_url` points: a heading per alert in docs/runbooks.md. */
  runbookUrl: 'docs/runbooks.md',
} as const;

export type MonitoringConfig = typeof monitoring;

/** A label matcher for a Prometheus job, e.g. `job="producer"`. */
export function job(name: keyof MonitoringConfig['jobs']): string {
  return `job="${monitoring.jobs[name]}"`;
}
