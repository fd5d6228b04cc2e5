import {
  Counter,
  createExemplarHistogram,
  Gauge,
  type ExemplarHistogram,
  type MetricsRegistry,
} from '@event-pipeline/common';
import type { PartitionLag } from './consumer-lag';

export const PROCESS_OUTCOMES = ['success', 'retried', 'dead_lettered'] as const;
export type ProcessOutcome = (typeof PROCESS_OUTCOMES)[number];

/** Distinct error names a consumer labels dead letters with; a handler's names are code, but bounded all the same. */
export const MAX_ERROR_LABELS = 20;

/** An error's name as a label value: a class-like name among the first few seen, else "other". */
export function errorLabel(name: string, seen: Set<string>): string {
  if (!/^[A-Za-z_$][\w$.]{0,63}$/.test(name)) return 'other';
  if (!seen.has(name)) {
    if (seen.size >= MAX_ERROR_LABELS) return 'other';
    seen.add(name);
  }
  return name;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The names this consumer runs with (CONSUMER_GROUP, EVENTS_TOPIC, DLQ_TOPIC). */
export interface ConsumerNames {
  consumerGroup: string;
  topic: string;
  deadLetterTopic: string;
}

/** What the consumer reports of its own state at scrape time. */
export interface ConsumerState {
  /** Events taken and not yet finished (at most one per partition). */
  inFlight: number;
  assignedPartitions: number;
  /** Per assigned partition, from its first batch on. */
  partitions: PartitionLag[];
}

export interface ConsumerMetrics {
  processed: Counter<'outcome'>;
  /** With the event's trace as exemplar. */
  processingDuration: ExemplarHistogram;
  /** With the event's trace (from the HTTP request on) as exemplar. */
  endToEndLatency: ExemplarHistogram;
  deadLetterFailures: Counter;
  /** A dead letter written, by the name of the error that sent it there (bounded: see deadLetteredBy). */
  deadLettered(errorName: string): void;
  duplicates: Counter;
  rebalances: Counter;
  ready: Gauge;
  /**
   * Sets `events_consumer_info`, which the lag rules and panels join kafka-exporter's series on:
   * monitoring follows a renamed group or topic at the next scrape.
   */
  setInfo(names: ConsumerNames): void;
  /** Where the consumer's own state is read from at each scrape (the Kafka source). */
  observeConsumer(read: () => ConsumerState): void;
}

export function createConsumerMetrics(registry: MetricsRegistry): ConsumerMetrics {
  let readState = (): ConsumerState => ({ inFlight: 0, assignedPartitions: 0, partitions: [] });
  const processed = new Counter({
    name: 'events_processed_total',
    help: 'Events handled by the worker, by outcome (retried counts each extra attempt).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // A healthy zero is a sample, not "no data", for dashboards and alerts.
  for (const outcome of PROCESS_OUTCOMES) processed.inc({ outcome }, 0);

  /** A gauge with one series per assigned partition, rebuilt at each scrape (revoked partitions drop out). */
  const perPartition = (name: string, help: string, value: (lag: PartitionLag) => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const lag of readState().partitions) {
          const current = value(lag);
          if (current !== undefined) this.set({ topic: lag.topic, partition: String(lag.partition) }, current);
        }
      },
    });
  };
  perPartition(
    'events_consumer_lag_seconds',
    'Now minus the record timestamp (the producer acceptance time) of the oldest event on the partition this consumer has not finished (between events: of the last one finished); 0 once its position reaches the high watermark of the last batch fetched.',
    (lag) => lag.lagSeconds,
  );
  perPartition(
    'events_consumer_lag_messages',
    'High watermark of the last batch fetched from the partition minus the next offset to process.',
    (lag) => lag.lagMessages,
  );
  perPartition('events_consumer_position', 'Next offset to process on the partition.', (lag) => lag.position);
  new Gauge({
    name: 'events_consumer_in_flight',
    help: 'Events taken from Kafka and not finished yet (handler, retries, dead-letter write).',
    registers: [registry],
    collect() {
      this.set(readState().inFlight);
    },
  });
  new Gauge({
    name: 'events_consumer_assigned_partitions',
    help: 'Partitions the consumer group assigned to this instance.',
    registers: [registry],
    collect() {
      this.set(readState().assignedPartitions);
    },
  });

  // An info metric (a gauge at 1 whose labels are the payload), like prom-client's own
  // nodejs_version_info. Its label names are kafka-exporter's (consumergroup, topic), so the
  // rules join the two on them without relabelling.
  const info = new Gauge({
    name: 'events_consumer_info',
    help: 'Always 1; the consumer group this instance runs in, the topic it consumes and its dead-letter topic, as labels.',
    labelNames: ['consumergroup', 'topic', 'dlq_topic'],
    registers: [registry],
  });

  const deadLettered = new Counter({
    name: 'events_dead_lettered_total',
    help: `Events written to the dead-letter topic, by the name of the error that sent them there (the first ${MAX_ERROR_LABELS} names seen, then "other").`,
    labelNames: ['error'],
    registers: [registry],
  });
  const errorLabels = new Set<string>();

  return {
    processed,
    deadLettered(errorName) {
      deadLettered.inc({ error: errorLabel(errorName, errorLabels) });
    },
    processingDuration: createExemplarHistogram({
      name: 'events_processing_duration_seconds',
      help: 'Time from taking an event to acknowledging it (handler, retries and any dead-letter write); exemplars: the trace of the event.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    endToEndLatency: createExemplarHistogram({
      name: 'events_end_to_end_latency_seconds',
      help: "Time from the producer accepting an event (the acceptance time it stamps as the record's timestamp) to the worker finishing it; exemplars: the trace of the event.",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    deadLetterFailures: new Counter({
      name: 'events_dead_letter_failures_total',
      help: 'Dead-letter writes that failed; the event is then not committed and comes again.',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'events_duplicates_total',
      help: 'Events dropped unhandled: this instance had processed one with the same source and id lately.',
      registers: [registry],
    }),
    rebalances: new Counter({
      name: 'events_consumer_rebalances_total',
      help: 'Times this instance joined the consumer group (start-up and every rebalance).',
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'events_consumer_ready',
      help: '1 while this instance is a member of the consumer group, else 0.',
      registers: [registry],
    }),
    setInfo({ consumerGroup, topic, deadLetterTopic }) {
      info.reset();
      info.set({ consumergroup: consumerGroup, topic, dlq_topic: deadLetterTopic }, 1);
    },
    observeConsumer(read) {
      readState = read;
    },
  };
}
