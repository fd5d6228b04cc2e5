import type { Readiness } from '../kafka/event-publisher';

/**
 * The whole producer's readiness from its running workers' own (each its Kafka producer's): ready
 * only when `workers` of them are ready. A worker that is missing (dead, not yet replaced) or
 * whose Kafka producer is not ready makes the whole producer not ready, with the first reason
 * found for the log and only the count for the probe's answer.
 */
export function readinessOfWorkers(running: readonly Readiness[], workers: number): Readiness {
  const ready = running.filter((readiness) => readiness.ready).length;
  if (ready >= workers) return { ready: true };
  const reason = running.find((readiness) => !readiness.ready)?.reason;
  return {
    ready: false,
    reason: `${ready} of ${workers} workers ready${reason ? `; ${reason}` : ''}`,
    publicReason: `${ready} of ${workers} workers ready`,
  };
}
