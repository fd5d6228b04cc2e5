import {
  Counter,
  createExemplarHistogram,
  Gauge,
  Histogram,
  type ExemplarHistogram,
  type MetricsRegistry,
} from '@event-pipeline/common';

export const INGEST_OUTCOMES = ['accepted', 'invalid', 'unauthorized', 'overloaded', 'failed'] as const;
export type IngestOutcome = (typeof INGEST_OUTCOMES)[number];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ProducerMetrics {
  /** With the request's trace as exemplar. */
  httpDuration: ExemplarHistogram<'method' | 'route' | 'status_code'>;
  ingested: Counter<'outcome'>;
  /** With the trace of one event of the batch as exemplar. */
  produceDuration: ExemplarHistogram;
  produceBatchEvents: Histogram;
  produceBatchBytes: Histogram;
  produceErrors: Counter;
  produceUnacknowledged: Counter;
  kafkaReady: Gauge;
  /** Sets `events_producer_info`: the topic (EVENTS_TOPIC) this producer writes to. */
  setInfo(names: { topic: string }): void;
  observeInFlight(read: () => number): void;
}

export function createProducerMetrics(registry: MetricsRegistry): ProducerMetrics {
  let readInFlight = (): number => 0;
  const ingested = new Counter({
    name: 'events_ingested_total',
    help: 'Events received on POST /events, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'events_in_flight',
    help: 'Events queued for or in a produce request, not yet acknowledged by Kafka.',
    registers: [registry],
    collect() {
      this.set(readInFlight());
    },
  });
  // A healthy zero is a sample, not "no data", for dashboards and alerts.
  for (const outcome of INGEST_OUTCOMES) ingested.inc({ outcome }, 0);

  const httpDuration = createExemplarHistogram<'method' | 'route' | 'status_code'>({
    name: 'http_server_request_duration_seconds',
    help: 'HTTP request duration, by method, route template and status code; exemplars: the trace of the request.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // The 503 series exists from the start, so rate() counts the first 503s too (a series born
  // with its first sample at 1 loses that one) and the error ratio reads 0, not "no data".
  httpDuration.zero({ method: 'POST', route: '/events', status_code: '503' });

  // An info metric (a gauge at 1 whose labels are the payload), like prom-client's own
  // nodejs_version_info; `topic` is kafka-exporter's label name, so the two join without relabelling.
  const info = new Gauge({
    name: 'events_producer_info',
    help: 'Always 1; the topic this instance writes accepted events to, as a label.',
    labelNames: ['topic'],
    registers: [registry],
    // Every worker says the same; the whole producer is one instance with one topic.
    aggregator: 'max',
  });

  return {
    httpDuration,
    ingested,
    produceDuration: createExemplarHistogram({
      name: 'events_produce_duration_seconds',
      help: 'Time from sending a batch to Kafka to its acknowledgement (acks=all); exemplars: the trace of an event of the batch.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    produceBatchEvents: new Histogram({
      name: 'events_produce_batch_events',
      help: 'Events per produce request to Kafka (how well concurrent requests coalesce).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    produceBatchBytes: new Histogram({
      name: 'events_produce_batch_bytes',
      help: 'Bytes per produce request to Kafka.',
      buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576],
      registers: [registry],
    }),
    produceErrors: new Counter({
      name: 'events_produce_errors_total',
      help: 'Produce requests that Kafka failed or refused.',
      registers: [registry],
    }),
    produceUnacknowledged: new Counter({
      name: 'events_produce_unacknowledged_total',
      help: 'Events a produce request resolved without an acknowledgement for their partition; they are sent again.',
      registers: [registry],
    }),
    kafkaReady: new Gauge({
      name: 'events_producer_kafka_ready',
      help: '1 when the producer is connected to Kafka and knows the topic, else 0.',
      registers: [registry],
      // With several workers, 1 only when every one of them is.
      aggregator: 'min',
    }),
    setInfo({ topic }) {
      info.reset();
      info.set({ topic }, 1);
    },
    observeInFlight(read) {
      readInFlight = read;
    },
  };
}
