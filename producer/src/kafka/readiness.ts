import { errorMessage, withTimeout, type Logger, type ReliableProducer } from '@event-pipeline/common';
import type { ProducerMetrics } from '../metrics';
import type { Readiness } from './event-publisher';

export interface ReadinessProbe {
  readonly state: Readiness;
  /** One check now; also what `start` repeats every `intervalMs`. */
  probe(): Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * Ready means: the topic's partitions all have a leader, and produce requests are being
 * acknowledged (a batch waiting longer than `produceTimeoutMs` means they are not: no replicas
 * in sync, a full disk, ...). Not ready answers 503 at once instead of making every client wait
 * out its timeout. Each check also refreshes the partitions `partitionOf` chooses among.
 */
export function createReadinessProbe({
  producer,
  topic,
  log,
  metrics,
  produceTimeoutMs,
  intervalMs,
  inFlightAgeMs,
}: {
  producer: ReliableProducer;
  topic: string;
  log: Logger;
  metrics: ProducerMetrics;
  produceTimeoutMs: number;
  intervalMs: number;
  /** How long the batch in flight has waited for its acknowledgement (0 when none is). */
  inFlightAgeMs: () => number;
}): ReadinessProbe {
  let state: Readiness = { ready: false, reason: 'starting' };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const set = (next: Readiness): void => {
    if (next.ready !== state.ready) {
      if (next.ready) log.info('kafka ready');
      else log.warn({ reason: next.reason }, 'kafka not ready');
    }
    state = next;
    metrics.kafkaReady.set(next.ready ? 1 : 0);
  };

  const probe = async (): Promise<void> => {
    if (stopped) return;
    const stuckMs = inFlightAgeMs();
    if (stuckMs > produceTimeoutMs) {
      set({ ready: false, reason: `a produce request has waited ${Math.round(stuckMs)} ms for its acknowledgement` });
      return;
    }
    const timeoutMs = Math.max(1000, intervalMs);
    try {
      const partitions = await withTimeout(
        producer.refreshPartitions(),
        timeoutMs,
        () => new Error(`no metadata answer within ${timeoutMs} ms`),
      );
      const leaderless = partitions.filter((partition) => partition.leader < 0).length;
      if (partitions.length === 0) set({ ready: false, reason: `topic ${topic} has no partitions` });
      else if (leaderless > 0) set({ ready: false, reason: `${leaderless} partition(s) of ${topic} have no leader` });
      else set({ ready: true });
    } catch (error) {
      set({ ready: false, reason: errorMessage(error) });
    }
  };

  return {
    get state() {
      return state;
    },
    probe,
    start() {
      timer = setInterval(() => void probe(), intervalMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
