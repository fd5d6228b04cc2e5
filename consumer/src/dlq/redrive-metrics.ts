import { Counter, Gauge, Pushgateway, Registry } from 'prom-client';
import { REDRIVE_OUTCOMES, type RedriveOutcome } from './redrive';

/** The Pushgateway group a redrive pushes to: one job, so the last run's numbers replace the run before. */
export const REDRIVE_PUSH_JOB = 'dlq-redrive';

export interface RedriveMetrics {
  count(outcome: RedriveOutcome, events: number): void;
  /** Pushes what was counted so far; `finished` adds the run's end (and its success) time. */
  push(finished?: { ok: boolean }): Promise<void>;
}

/**
 * events_redriven_total of one redrive, pushed to a Pushgateway: a redrive is a short batch job
 * that no scrape would catch while it runs (Prometheus' conventions for service-level batch
 * jobs). Pushed with POST, so a failed run replaces the counts and the last-run time but keeps
 * the time of the last success.
 */
export function createRedriveMetrics(url: string | undefined, dlqTopic: string): RedriveMetrics {
  const registry = new Registry();
  const redriven = new Counter({
    name: 'events_redriven_total',
    help: 'Dead letters sent back by the last `dlq redrive` run, by outcome (sent, already_sent: written by an interrupted run before, failed).',
    labelNames: ['outcome', 'dlq_topic'],
    registers: [registry],
  });
  for (const outcome of REDRIVE_OUTCOMES) redriven.inc({ outcome, dlq_topic: dlqTopic }, 0);
  const lastRun = new Gauge({
    name: 'dlq_redrive_last_run_timestamp_seconds',
    help: 'When the last `dlq redrive` run ended (or last reported, while it runs).',
    labelNames: ['dlq_topic'],
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'dlq_redrive_last_success_timestamp_seconds',
    help: 'When the last `dlq redrive` run that sent everything it selected ended.',
    labelNames: ['dlq_topic'],
    registers: [],
  });
  const gateway = url ? new Pushgateway(url, { timeout: 5000 }, registry) : undefined;
  return {
    count: (outcome, events) => redriven.inc({ outcome, dlq_topic: dlqTopic }, events),
    async push(finished) {
      if (!gateway) return;
      lastRun.set({ dlq_topic: dlqTopic }, Date.now() / 1000);
      if (finished?.ok) {
        lastSuccess.set({ dlq_topic: dlqTopic }, Date.now() / 1000);
        registry.registerMetric(lastSuccess);
      }
      await gateway.pushAdd({ jobName: REDRIVE_PUSH_JOB });
    },
  };
}
