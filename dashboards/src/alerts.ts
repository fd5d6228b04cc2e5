import { job, monitoring } from './config';

/**
 * The Prometheus rules of the pipeline: recording rules for the service level indicators and
 * the alerts built on them. `npm run monitoring:generate` writes them to
 * observability/prometheus/rules/; observability/prometheus/tests/ unit-tests every rule with
 * `promtool test rules`.
 */
export interface RecordingRule {
  record: string;
  expr: string;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning' } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
  name: string;
  rules: (RecordingRule | AlertingRule)[];
}

const { slo, thresholds } = monitoring;

/**
 * The consumer groups, topics and dead-letter topics the consumers run with: each consumer
 * exports them as `events_consumer_info{consumergroup,topic,dlq_topic} 1`, and the rules and
 * panels join kafka-exporter's series on them, so a renamed group or topic is followed at the
 * next scrape with nothing to regenerate.
 *
 * While at least one consumer reports, this is what the consumers report now (several
 * instances of one group report the same series: `max` keeps one). While none does (every
 * consumer crashed, or none is scheduled), it keeps its own last value, so the lag and
 * empty-group alerts still know which group to watch; the first consumer to report again
 * replaces it, and a group renamed away is forgotten at once.
 */
export const CONSUMER_INFO = 'events:consumer_info:latest';
/** The same, with the dead-letter topic as `topic`, to join kafka-exporter's topic series on. */
export const DEAD_LETTER_INFO = 'events:consumer_dead_letter_topic:latest';

/** `expr` for the consumer groups and topics the consumers run with only, matched on `labels`. */
export function ofConsumers(expr: string, labels: ('consumergroup' | 'topic')[] = ['consumergroup', 'topic']): string {
  return `${expr} and on (${labels.join(', ')}) ${CONSUMER_INFO}`;
}

/**
 * The matcher of one bucket of a classic histogram, by its bound as the exposition writes it
 * (`'5'`, `'0.25'`). Prometheus 3 stores `le` as an OpenMetrics float (prom-client's `5` becomes
 * `5.0`; `0.25` stays), where 2.x stored what the exposition said: an integral bound matches both
 * spellings, so the rules and panels hold on either, and across an upgrade, when one window
 * holds both series (docs/metrics.md).
 */
export function bucketBound(le: string): string {
  const bound = Number(le);
  if (
    le.trim() === '' ||
    !Number.isFinite(bound) ||
    (bound !== 0 && Math.abs(bound) < 1e-4) ||
    Math.abs(bound) >= 1e6
  ) {
    // Where JavaScript and Go would print the number differently (exponents): not needed yet.
    throw new Error(`bucket bound '${le}': give a plain decimal between 1e-4 and 1e6`);
  }
  const stored = Number.isInteger(bound) ? `${bound}.0` : String(bound);
  const escaped = (text: string): string => text.replaceAll('.', '\\\\.');
  return stored === le ? `le="${le}"` : `le=~"${escaped(le)}|${escaped(stored)}"`;
}

/** The error-budget windows of the multi-window, multi-burn-rate alerts (the SRE workbook's). */
const BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
type BurnWindow = (typeof BURN_WINDOWS)[number];

/** Fast burns page (2 % of a 30-day budget in an hour, 5 % in six); slow burns make a ticket. */
const BURNS: { severity: 'critical' | 'warning'; for: string; pairs: [number, BurnWindow, BurnWindow][] }[] = [
  {
    severity: 'critical',
    for: monitoring.for.burnFast,
    pairs: [
      [14.4, '1h', '5m'],
      [6, '6h', '30m'],
    ],
  },
  {
    severity: 'warning',
    for: monitoring.for.burnSlow,
    pairs: [
      [3, '1d', '2h'],
      [1, '3d', '6h'],
    ],
  },
];

function runbook(alert: string): string {
  return `${monitoring.runbookUrl}#${alert.toLowerCase()}`;
}

function alert(rule: Omit<AlertingRule, 'annotations'> & { summary: string; description: string }): AlertingRule {
  const { summary, description, ...rest } = rule;
  return { ...rest, annotations: { summary, description, runbook_url: runbook(rule.alert) } };
}

/** A latency objective: the share of observations above `seconds`, per window, and its burn-rate alerts. */
function latencySlo(spec: {
  name: string;
  alert: string;
  /** The objective's name in a sentence, and what it counts. */
  title: string;
  what: string;
  histogram: string;
  /** Which series of the histogram count. */
  selector: string;
  objective: number;
  seconds: string;
}): RuleGroup {
  const record = (window: BurnWindow) => `slo:${spec.name}_slow:ratio_rate${window}`;
  const budget = Number((1 - spec.objective).toFixed(6));
  const recordings: RecordingRule[] = BURN_WINDOWS.map((window) => ({
    record: record(window),
    expr: [
      `1 - (`,
      `  sum(rate(${spec.histogram}_bucket{${spec.selector},${bucketBound(spec.seconds)}}[${window}]))`,
      `  /`,
      `  sum(rate(${spec.histogram}_count{${spec.selector}}[${window}]))`,
      `)`,
    ].join('\n'),
  }));
  const alerts = BURNS.map((burn) =>
    alert({
      alert: spec.alert,
      expr: burn.pairs
        .map(
          ([factor, long, short]) =>
            `(${record(long)} > ${factor} * ${budget} and ${record(short)} > ${factor} * ${budget}` +
            ` and on () sum(increase(${spec.histogram}_count{${spec.selector}}[${long}])) >= ${slo.minObservations})`,
        )
        .join('\nor\n'),
      for: burn.for,
      labels: { severity: burn.severity, slo: spec.name.replaceAll('_', '-') },
      summary: `${spec.title} is burning its error budget ${burn.severity === 'critical' ? 'fast' : 'steadily'}.`,
      description:
        `The objective is ${spec.objective * 100} % of ${spec.what} within ${spec.seconds} s. ` +
        `{{ $value | humanizePercentage }} were slower over the last ` +
        burn.pairs.map(([factor, long]) => `${long} (${factor}x the budget)`).join(' or ') +
        ', and still are over the last minutes.',
    }),
  );
  return { name: `event-pipeline.slo.${spec.name.replaceAll('_', '-')}`, rules: [...recordings, ...alerts] };
}

/** POST /events requests in `http_server_request_duration_seconds`. */
const ingestRequests = `${job('producer')},route="${monitoring.ingestRoute}"`;

export function ruleGroups(): RuleGroup[] {
  const ingestErrors = 'events:ingest_requests_failed:ratio_rate5m';
  const groupLag = 'events:consumergroup_lag:sum';
  const lagSeconds = 'events:consumer_lag_seconds:max';
  return [
    {
      name: 'event-pipeline.availability',
      rules: [
        {
          record: CONSUMER_INFO,
          expr:
            `max by (consumergroup, topic, dlq_topic) (events_consumer_info{${job('consumer')}})\n` +
            // Its own last value, as an instant selector: that honours the stale marker a series
            // gets when its group is renamed away, where a range would bring the old name back.
            `or (${CONSUMER_INFO} unless on () events_consumer_info{${job('consumer')}})`,
        },
        {
          record: DEAD_LETTER_INFO,
          expr: `max by (consumergroup, topic) (label_replace(${CONSUMER_INFO}, "topic", "$1", "dlq_topic", "(.+)"))`,
        },
        alert({
          alert: 'EventsProducerDown',
          expr: `up{${job('producer')}} == 0 or absent(up{${job('producer')}})`,
          for: monitoring.for.targetDown,
          labels: { severity: 'critical' },
          summary: 'A producer is down.',
          description:
            'Prometheus cannot scrape the producer{{ with $labels.instance }} at {{ . }}{{ end }}: ' +
            'it is not serving POST /events.',
        }),
        alert({
          alert: 'EventsProducerNotReady',
          expr: `events_producer_kafka_ready{${job('producer')}} == 0`,
          for: monitoring.for.producerNotReady,
          labels: { severity: 'critical' },
          summary: 'A producer cannot reach Kafka.',
          description:
            'The producer at {{ $labels.instance }} is not connected to Kafka or does not know the topic; ' +
            'it answers POST /events with 503.',
        }),
        alert({
          alert: 'EventsConsumerDown',
          expr: `up{${job('consumer')}} == 0`,
          for: monitoring.for.targetDown,
          labels: { severity: 'warning' },
          summary: 'A consumer is down.',
          description: 'Prometheus cannot scrape the consumer at {{ $labels.instance }}.',
        }),
        alert({
          alert: 'EventsConsumerNotReady',
          expr: `events_consumer_ready{${job('consumer')}} == 0`,
          for: monitoring.for.consumerNotReady,
          labels: { severity: 'warning' },
          summary: 'A consumer is not in the consumer group.',
          description: 'The consumer at {{ $labels.instance }} is running but not a member of its consumer group.',
        }),
        alert({
          alert: 'EventsConsumerGroupEmpty',
          // Three ways to be empty, the last two only while kafka-exporter answers: the group is
          // reported with no member; it is not reported at all (it never had a member, or Kafka
          // forgot it); no consumer ever reported which group it runs in.
          expr: [
            ofConsumers(`kafka_consumergroup_members{${job('kafkaExporter')}} == 0`, ['consumergroup']),
            `or (`,
            `  max by (consumergroup) (${CONSUMER_INFO})`,
            `  unless on (consumergroup) kafka_consumergroup_members{${job('kafkaExporter')}}`,
            `) and on () up{${job('kafkaExporter')}} == 1`,
            `or absent(${CONSUMER_INFO}) and on () up{${job('kafkaExporter')}} == 1`,
          ].join('\n'),
          for: monitoring.for.consumerGroupEmpty,
          labels: { severity: 'critical' },
          summary: 'No consumer is processing events.',
          description:
            '{{ with $labels.consumergroup }}The consumer group {{ . }} has no members{{ else }}No consumer has reported which group it runs in{{ end }}: ' +
            'accepted events wait in Kafka unprocessed.',
        }),
        alert({
          alert: 'KafkaBrokersMissing',
          // With no broker reachable, kafka-exporter keeps serving the broker count it last knew, but
          // its topic metadata expires: no topic at all, while it answers, is a cluster out of reach.
          expr:
            `kafka_brokers{${job('kafkaExporter')}} < ${thresholds.kafkaBrokers}\n` +
            `or (absent(kafka_topic_partitions{${job('kafkaExporter')}}) and on () up{${job('kafkaExporter')}} == 1)`,
          for: monitoring.for.kafkaBrokersMissing,
          labels: { severity: 'critical' },
          summary: 'Kafka brokers are missing or out of reach.',
          description:
            `{{ if $labels.instance }}kafka-exporter sees {{ $value }} brokers; the cluster should have ${thresholds.kafkaBrokers}.` +
            '{{ else }}kafka-exporter reaches no broker: it has no topic metadata to report.{{ end }}',
        }),
        alert({
          alert: 'KafkaExporterDown',
          expr: `up{${job('kafkaExporter')}} == 0 or absent(up{${job('kafkaExporter')}})`,
          for: monitoring.for.targetDown,
          labels: { severity: 'warning' },
          summary: 'kafka-exporter is down: consumer-group lag is not measured.',
          description:
            'Prometheus cannot scrape kafka-exporter{{ with $labels.instance }} at {{ . }}{{ end }}; ' +
            'the lag and broker alerts cannot fire while it is down.',
        }),
      ],
    },
    {
      name: 'event-pipeline.ingest',
      rules: [
        {
          record: 'events:ingested:rate5m',
          expr: `sum by (outcome) (rate(events_ingested_total{${job('producer')}}[5m]))`,
        },
        {
          record: ingestErrors,
          expr:
            `sum(rate(http_server_request_duration_seconds_count{${ingestRequests},status_code=~"5.."}[5m]))\n` +
            `/\nsum(rate(http_server_request_duration_seconds_count{${ingestRequests}}[5m]))`,
        },
        alert({
          alert: 'EventsIngestErrorRatioHigh',
          expr: `${ingestErrors} > ${thresholds.ingestErrorRatio}`,
          for: monitoring.for.ingestErrorRatio,
          labels: { severity: 'critical' },
          summary: 'POST /events fails too often.',
          description:
            '{{ $value | humanizePercentage }} of the requests to POST /events in the last 5 minutes got a 5xx ' +
            `(Kafka unavailable or too slow, shutting down); the threshold is ${thresholds.ingestErrorRatio * 100} %.`,
        }),
      ],
    },
    latencySlo({
      name: 'ingest_latency',
      alert: 'EventsIngestLatencyBudgetBurn',
      title: 'Ingest latency',
      what: 'POST /events requests answered',
      histogram: 'http_server_request_duration_seconds',
      selector: ingestRequests,
      ...slo.ingestLatency,
    }),
    latencySlo({
      name: 'end_to_end_latency',
      alert: 'EventsEndToEndLatencyBudgetBurn',
      title: 'End-to-end latency',
      what: 'events processed after their acceptance',
      histogram: 'events_end_to_end_latency_seconds',
      selector: job('consumer'),
      ...slo.endToEndLatency,
    }),
    {
      name: 'event-pipeline.consumer',
      rules: [
        {
          record: 'events:processed:rate5m',
          expr: `sum by (outcome) (rate(events_processed_total{${job('consumer')}}[5m]))`,
        },
        {
          record: groupLag,
          expr: ofConsumers(`sum by (consumergroup, topic) (kafka_consumergroup_lag{${job('kafkaExporter')}})`),
        },
        {
          record: lagSeconds,
          expr: `max by (topic, partition) (events_consumer_lag_seconds{${job('consumer')}})`,
        },
        alert({
          alert: 'EventsConsumerLagHigh',
          expr: `${groupLag} > ${thresholds.consumerLagMessages}\nand deriv(${groupLag}[5m]) > 0`,
          for: monitoring.for.consumerLag,
          labels: { severity: 'warning' },
          summary: 'The consumer group is falling behind.',
          description:
            'The group {{ $labels.consumergroup }} is {{ $value | humanize }} messages behind on {{ $labels.topic }}, ' +
            `more than ${thresholds.consumerLagMessages}, and the lag grew over the last 5 minutes.`,
        }),
        alert({
          alert: 'EventsConsumerLagSecondsHigh',
          expr: `${lagSeconds} > ${thresholds.consumerLagSeconds}\nand deriv(${lagSeconds}[5m]) > 0`,
          for: monitoring.for.consumerLag,
          labels: { severity: 'critical' },
          summary: 'Events wait too long before they are processed.',
          description:
            'The oldest unfinished event on {{ $labels.topic }} partition {{ $labels.partition }} was accepted ' +
            `{{ $value | humanizeDuration }} ago, more than ${thresholds.consumerLagSeconds} s, and it is getting older.`,
        }),
        alert({
          alert: 'EventsDeadLettered',
          expr: `sum by (job) (increase(events_processed_total{${job('consumer')},outcome="dead_lettered"}[10m])) > 0`,
          for: monitoring.for.deadLetters,
          labels: { severity: 'warning' },
          summary: 'Events are going to the dead-letter topic.',
          description:
            '{{ $value | humanize }} events failed every attempt in the last 10 minutes and went to the dead-letter topic.',
        }),
        alert({
          alert: 'EventsDeadLetterWritesFailing',
          expr: `sum by (job) (increase(events_dead_letter_failures_total{${job('consumer')}}[5m])) > 0`,
          for: monitoring.for.deadLetters,
          labels: { severity: 'critical' },
          summary: 'Dead-letter writes fail: partitions are stuck.',
          description:
            '{{ $value | humanize }} writes to the dead-letter topic failed in the last 5 minutes; ' +
            'each failed event is not committed and blocks its partition until a write succeeds.',
        }),
      ],
    },
    {
      name: 'event-pipeline.schema-registry',
      rules: [
        alert({
          alert: 'EventsSchemaRegistryUnavailable',
          // Only services configured with a registry export the gauge; each instance is judged alone.
          expr:
            `max by (job, instance) (events_schema_registry_reachable{${job('producer')}}` +
            ` or events_schema_registry_reachable{${job('consumer')}}) == 0`,
          for: monitoring.for.schemaRegistryUnavailable,
          labels: { severity: 'critical' },
          summary: 'The schema registry cannot be reached.',
          description:
            '{{ $labels.job }} {{ $labels.instance }} has not reached the schema registry for a while: events of types it ' +
            'has not looked up yet get 503 (producer), and Avro events of schemas it has not decoded yet wait (consumer).',
        }),
      ],
    },
  ];
}
