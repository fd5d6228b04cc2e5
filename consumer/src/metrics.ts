import {
  Counter,
  createExemplarHistogram,
  Gauge,
  type ExemplarHistogram,
  type MetricsRegistry,
} from '@event-pipeline/common';

export const PROCESS_OUTCOMES = ['success', 'retried', 'dead_lettered'] as const;
export type ProcessOutcome = (typeof PROCESS_OUTCOMES)[number];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface ConsumerMetrics {
  processed: Counter<'outcome'>;
  /** With the event's trace as exemplar. */
  processingDuration: ExemplarHistogram;
  /** With the event's trace (from the HTTP request on) as exemplar. */
  endToEndLatency: ExemplarHistogram;
  deadLetterFailures: Counter;
  duplicates: Counter;
  rebalances: Counter;
  ready: Gauge;
}

export function createConsumerMetrics(registry: MetricsRegistry): ConsumerMetrics {
  const processed = new Counter({
    name: 'events_processed_total',
    help: 'Events handled by the worker, by outcome (retried counts each extra attempt).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // A healthy zero is a sample, not "no data", for dashboards and alerts.
  for (const outcome of PROCESS_OUTCOMES) processed.inc({ outcome }, 0);
  return {
    processed,
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
  };
}
