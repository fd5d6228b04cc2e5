// Pipeline overview: is the pipeline taking events, how fast, how far behind, and is anything
// failing; from POST /events through Kafka to the worker.
import { monitoring } from './config';
import { buildDashboard } from './frame';
import { badBelow, badFrom, statPanel, timeseriesPanel, type Query, type ValueTexts } from './panels';
import { DEAD_LETTER_INFO, maxBy, mean, ofConsumers, on, quantile, rate, series, shareWithin, sumBy } from './promql';

const { slo, thresholds } = monitoring;
const ingestRoute = `route="${monitoring.ingestRoute}",method="POST"`;

/**
 * p50, p95 and p99 of a latency histogram. The exemplars that lead to the traces come with the
 * last query only: they are the histogram's, the same for every quantile, so one set of dots.
 */
function latencyQuantiles(histogram: string, matchers: string[], quantiles = [0.5, 0.95, 0.99]): Query[] {
  return quantiles.map((q, index) => ({
    expr: quantile(q, histogram, ...matchers),
    legend: `p${Math.round(q * 100)}`,
    exemplar: index === quantiles.length - 1,
  }));
}

const readiness: ValueTexts = {
  '0': { text: 'not ready', color: 'red' },
  '1': { text: 'ready', color: 'green' },
};
const scraped: ValueTexts = {
  '0': { text: 'down', color: 'red' },
  '1': { text: 'up', color: 'green' },
};

const ingest = [
  timeseriesPanel({
    title: 'How many events arrive, and what happens to them?',
    description:
      'Events received on POST /events per second, by outcome: accepted (in Kafka, answered 202), invalid (400/413/415/422), unauthorized (401), overloaded (shed with 503 and Retry-After) and failed (Kafka did not acknowledge; 503). Anything but accepted growing is worth a look.',
    unit: 'ops',
    queries: [{ expr: sumBy(['outcome'], rate(series('events_ingested_total', on.producer))), legend: '{{outcome}}' }],
  }),
  timeseriesPanel({
    title: 'What share of POST /events requests fail?',
    description: `Requests to POST /events answered with a 5xx (Kafka unavailable or too slow, overloaded, shutting down) over all of them; 429 and other 4xx are the clients' and do not count. The alert EventsIngestErrorRatioHigh fires above the dashed line (${thresholds.ingestErrorRatio * 100} %) for ${monitoring.for.ingestErrorRatio}. Empty while no request arrives.`,
    unit: 'percentunit',
    thresholds: badFrom(thresholds.ingestErrorRatio),
    queries: [
      {
        // The producer starts its 503 series at 0, so a healthy producer reads 0 here, not "no data".
        expr: `${sumBy([], rate(series('http_server_request_duration_seconds_count', on.producer, ingestRoute, 'status_code=~"5.."')))} / ${sumBy([], rate(series('http_server_request_duration_seconds_count', on.producer, ingestRoute)))}`,
        legend: '5xx',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How long does POST /events take to answer?',
    description: `Quantiles of the request duration of POST ${monitoring.ingestRoute}, all status codes. The dashed line is the latency SLO's bound (${slo.ingestLatency.seconds} s). The dots are exemplars: click one to open its trace in Jaeger.`,
    unit: 's',
    thresholds: badFrom(Number(slo.ingestLatency.seconds)),
    queries: latencyQuantiles('http_server_request_duration_seconds', [on.producer, ingestRoute]),
  }),
  timeseriesPanel({
    title: 'Are POST /events answers within the latency SLO?',
    description: `Share of POST ${monitoring.ingestRoute} requests answered within ${slo.ingestLatency.seconds} s. Below the dashed objective (${slo.ingestLatency.objective * 100} %) the error budget burns. Empty while no request arrives.`,
    unit: 'percentunit',
    thresholds: badBelow(slo.ingestLatency.objective),
    queries: [
      {
        expr: shareWithin(slo.ingestLatency.seconds, 'http_server_request_duration_seconds', on.producer, ingestRoute),
        legend: `within ${slo.ingestLatency.seconds} s`,
      },
    ],
  }),
  timeseriesPanel({
    title: 'How long does Kafka take to acknowledge a produce request?',
    description:
      'Quantiles of the time from sending a batch to Kafka to its acknowledgement by all in-sync replicas (acks=all). A POST /events answers only after it. Exemplars lead to the trace of an event of the batch.',
    unit: 's',
    queries: latencyQuantiles('events_produce_duration_seconds', [on.producer], [0.5, 0.99]),
  }),
  timeseriesPanel({
    title: 'How many events go into one produce request?',
    description:
      'Events per produce request to Kafka: concurrent POST /events coalesce into one request. Larger batches under load mean fewer round trips per event.',
    unit: 'short',
    queries: [
      { expr: quantile(0.5, 'events_produce_batch_events', on.producer), legend: 'p50' },
      { expr: quantile(0.99, 'events_produce_batch_events', on.producer), legend: 'p99' },
      { expr: mean('events_produce_batch_events', on.producer), legend: 'mean' },
    ],
  }),
  timeseriesPanel({
    title: 'Does Kafka fail or leave produce requests unacknowledged?',
    description:
      'Produce requests Kafka failed or refused per second, and events per second a produce request resolved without an acknowledgement for their partition (the producer sends those again). Both stay at 0 in health.',
    unit: 'ops',
    queries: [
      { expr: sumBy([], rate(series('events_produce_errors_total', on.producer))), legend: 'failed produce requests' },
      {
        expr: sumBy([], rate(series('events_produce_unacknowledged_total', on.producer))),
        legend: 'unacknowledged events (resent)',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How many events wait for Kafka in the producer?',
    description:
      'Events queued for or in a produce request and not yet acknowledged, per producer instance. It is bounded: at the bound the producer sheds with 503 (outcome overloaded).',
    unit: 'short',
    queries: [{ expr: series('events_in_flight', on.producer), legend: '{{instance}}' }],
  }),
];

const processing = [
  timeseriesPanel({
    title: 'How many events are processed, and with what outcome?',
    description:
      'Events the consumers handled per second, by outcome: success, retried (each extra attempt) and dead_lettered (retries exhausted or not retriable; written to the dead-letter topic).',
    unit: 'ops',
    queries: [{ expr: sumBy(['outcome'], rate(series('events_processed_total', on.consumer))), legend: '{{outcome}}' }],
  }),
  timeseriesPanel({
    title: 'How long does the worker take per event?',
    description:
      'Quantiles of the time from taking an event to acknowledging it: the handler, its retries with backoff and any dead-letter write. Exemplars lead to the trace of the event.',
    unit: 's',
    queries: latencyQuantiles('events_processing_duration_seconds', [on.consumer]),
  }),
  timeseriesPanel({
    title: 'How long from acceptance to processed?',
    description: `Quantiles of the end-to-end latency: from the producer accepting an event to the worker finishing it. The dashed line is the SLO's bound (${slo.endToEndLatency.seconds} s). Exemplars lead to the whole trace, HTTP request to handler.`,
    unit: 's',
    thresholds: badFrom(Number(slo.endToEndLatency.seconds)),
    queries: latencyQuantiles('events_end_to_end_latency_seconds', [on.consumer]),
  }),
  timeseriesPanel({
    title: 'Are events processed within the end-to-end SLO?',
    description: `Share of events finished within ${slo.endToEndLatency.seconds} s of their acceptance. Below the dashed objective (${slo.endToEndLatency.objective * 100} %) the error budget burns. Empty while no event is processed.`,
    unit: 'percentunit',
    thresholds: badBelow(slo.endToEndLatency.objective),
    queries: [
      {
        expr: shareWithin(slo.endToEndLatency.seconds, 'events_end_to_end_latency_seconds', on.consumer),
        legend: `within ${slo.endToEndLatency.seconds} s`,
      },
    ],
  }),
  timeseriesPanel({
    title: 'How many events are in the workers right now?',
    description:
      'Events taken from Kafka and not finished (handler, retries, dead-letter write), per consumer instance: at most one per assigned partition.',
    unit: 'short',
    queries: [{ expr: series('events_consumer_in_flight', on.consumer), legend: '{{instance}}' }],
  }),
  timeseriesPanel({
    title: 'Do the consumers see duplicate events?',
    description:
      'Events per second dropped unhandled because the instance had lately processed one with the same source and id: redeliveries after a rebalance or a client retry.',
    unit: 'ops',
    queries: [
      { expr: sumBy(['instance'], rate(series('events_duplicates_total', on.consumer))), legend: '{{instance}}' },
    ],
  }),
];

const lag = [
  timeseriesPanel({
    title: 'How many messages is the consumer group behind, per partition?',
    description: `Messages on each partition the consumer group the consumers run with has not committed yet, as kafka-exporter sees them, beside the lag each consumer reports of its own partitions (high watermark of its last fetch minus its position).`,
    unit: 'short',
    queries: [
      {
        expr: maxBy(['topic', 'partition'], ofConsumers(series('kafka_consumergroup_lag', on.topics))),
        legend: 'kafka-exporter {{topic}}/{{partition}}',
      },
      {
        expr: maxBy(['topic', 'partition'], series('events_consumer_lag_messages', on.consumerTopics)),
        legend: 'consumer {{topic}}/{{partition}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'Is the consumer group falling behind on a topic?',
    description: `Messages the consumer group the consumers run with is behind, summed over the partitions of each topic. The dashed line is the lag alert's threshold (${thresholds.consumerLagMessages}).`,
    unit: 'short',
    thresholds: badFrom(thresholds.consumerLagMessages),
    queries: [
      {
        expr: maxBy(['topic'], ofConsumers(series('kafka_consumergroup_lag_sum', on.topics))),
        legend: '{{topic}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How old is the oldest unfinished event, per partition?',
    description: `Now minus the acceptance time of the oldest event a consumer has not finished on each of its partitions; 0 when it has caught up with its last fetch. The dashed line is the lag alert's threshold (${thresholds.consumerLagSeconds} s).`,
    unit: 's',
    thresholds: badFrom(thresholds.consumerLagSeconds),
    queries: [
      {
        expr: maxBy(['topic', 'partition'], series('events_consumer_lag_seconds', on.consumerTopics)),
        legend: '{{topic}}/{{partition}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'Does every partition of the topic have a consumer?',
    description:
      'Partitions the group assigned to each consumer instance, and the partitions of the topic the consumers consume: their sum should equal it once the group is stable.',
    unit: 'short',
    queries: [
      { expr: series('events_consumer_assigned_partitions', on.consumer), legend: '{{instance}}' },
      {
        expr: sumBy(['topic'], ofConsumers(series('kafka_topic_partitions', on.exporter), ['topic'])),
        legend: 'partitions of {{topic}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'When did consumers join or rejoin the group?',
    description:
      'Times each consumer instance joined the group (start-up and every rebalance) per interval. Frequent rebalances stall processing; look for crashing instances or handlers slower than the session timeout.',
    unit: 'short',
    queries: [
      {
        expr: sumBy(
          ['instance'],
          `increase(${series('events_consumer_rebalances_total', on.consumer)}[$__rate_interval])`,
        ),
        legend: '{{instance}}',
      },
    ],
  }),
];

const deadLetters = [
  timeseriesPanel({
    title: 'How many events are dead-lettered, and do those writes fail?',
    description:
      'Events per second written to the dead-letter topic after their retries, and dead-letter writes per second that failed (the event is then not committed and comes again). Both stay at 0 in health.',
    unit: 'ops',
    queries: [
      {
        expr: sumBy([], rate(series('events_processed_total', on.consumer, 'outcome="dead_lettered"'))),
        legend: 'dead-lettered',
      },
      {
        expr: sumBy([], rate(series('events_dead_letter_failures_total', on.consumer))),
        legend: 'dead-letter write failed',
      },
    ],
  }),
  timeseriesPanel({
    title: 'Which errors send events to the dead-letter topic?',
    description:
      "Events dead-lettered per interval, by the name of the error that sent them there (the consumers' own counts). `npm run dlq -- list` groups what the topic holds by error message too; docs/runbooks.md#eventsdeadlettered says how to redrive them. 0 in health.",
    unit: 'short',
    queries: [
      {
        expr: `${sumBy(['error'], `increase(${series('events_dead_lettered_total', on.consumer)}[$__rate_interval])`)} or on () vector(0)`,
        legend: '{{error}}',
      },
    ],
  }),
  statPanel({
    title: 'How many events does the dead-letter topic hold?',
    description:
      "Messages retained in the consumers' dead-letter topic (newest minus oldest offset, all partitions): events that need a person. 0 in health.",
    unit: 'short',
    width: 12,
    height: 8,
    thresholds: badFrom(1),
    queries: [
      {
        expr: sumBy(
          ['topic'],
          `(${series('kafka_topic_partition_current_offset', on.exporter)} - ${series('kafka_topic_partition_oldest_offset', on.exporter)}) and on (topic) ${DEAD_LETTER_INFO}`,
        ),
        legend: '{{topic}}',
      },
    ],
  }),
];

const health = [
  statPanel({
    title: 'Does Prometheus reach every process?',
    description:
      "Whether Prometheus' last scrape of each producer, consumer and kafka-exporter succeeded. A process that is down stops every other panel's series from it.",
    unit: 'short',
    width: 12,
    thresholds: badBelow(1),
    valueTexts: scraped,
    queries: [
      {
        expr: `${series('up', on.services)} or ${series('up', on.exporter)}`,
        legend: '{{job}} {{instance}}',
      },
    ],
  }),
  statPanel({
    title: 'Is every instance ready?',
    description:
      'A producer is ready when it is connected to Kafka and knows the topic; a consumer when it is a member of the group. A process that is up but not ready takes no events.',
    unit: 'short',
    width: 12,
    thresholds: badBelow(1),
    valueTexts: readiness,
    queries: [
      { expr: series('events_producer_kafka_ready', on.producer), legend: 'producer {{instance}}' },
      { expr: series('events_consumer_ready', on.consumer), legend: 'consumer {{instance}}' },
    ],
  }),
];

const schemaRegistry = [
  timeseriesPanel({
    title: 'Are event schemas found in the cache or asked of the registry?',
    description: `Schema lookups per second by outcome, producer and consumer together: hit (from the cache, no call), miss (the registry was asked) and error (it could not be reached: the producer answers 503 for a type it does not know yet, the consumer waits). Empty while no service has SCHEMA_REGISTRY_URL. The alert EventsSchemaRegistryUnavailable fires when an instance has not reached the registry for ${monitoring.for.schemaRegistryUnavailable}.`,
    unit: 'ops',
    queries: [
      {
        expr: sumBy(['outcome'], rate(series('events_schema_registry_lookups_total', on.services))),
        legend: '{{outcome}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How fast does the schema registry answer?',
    description:
      'Quantiles of the calls to the schema registry (lookups, and the refresh passes of the producer), failed ones included.',
    unit: 's',
    queries: latencyQuantiles('events_schema_registry_request_duration_seconds', [on.services]).map((query) => ({
      ...query,
      exemplar: false,
    })),
  }),
];

export const overview = buildDashboard({
  uid: 'event-pipeline-overview',
  title: 'Event pipeline: overview',
  description:
    'POST /events to Kafka to the consumer group: ingest outcomes and latency, processing outcomes and latency, SLOs, lag, dead letters and readiness.',
  tags: ['overview'],
  refresh: '10s',
  variables: ['instance', 'topic'],
  rows: [
    { title: 'Health', panels: health },
    { title: 'Ingest: POST /events to Kafka', panels: ingest },
    { title: 'Processing: Kafka to the worker', panels: processing },
    { title: 'Lag and the consumer group', panels: lag },
    { title: 'Dead letters', panels: deadLetters },
    { title: 'Schema registry', panels: schemaRegistry },
  ],
});
