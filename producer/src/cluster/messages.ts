import type { Readiness } from '../kafka/event-publisher';
import type { ProcessSnapshot } from './process-metrics';

/** What a worker tells the primary. */
export type WorkerMessage =
  /** Its own readiness, each time it changes (and first thing). */
  | { type: 'producer:readiness'; readiness: Readiness }
  /** A scrape came in: it wants every process's metrics. */
  | { type: 'producer:scrape'; id: number }
  /** Its metrics, answering `producer:collect`. */
  | { type: 'producer:snapshot'; id: number; snapshot: ProcessSnapshot }
  /** Kafka refused its start for good (see connectWithRetry): the producer cannot run. */
  | { type: 'producer:start-failed' };

/** What the primary tells a worker. */
export type PrimaryMessage =
  /** Whether every worker is ready, each time that changes (and when the worker comes up). */
  | { type: 'producer:all-ready'; readiness: Readiness }
  /** Send your metrics (`producer:snapshot`). */
  | { type: 'producer:collect'; id: number }
  /** The answer to `producer:scrape`: every process's metrics, the primary's first. */
  | { type: 'producer:snapshots'; id: number; snapshots: ProcessSnapshot[] }
  /** Stop taking requests, answer those in progress, flush, exit. */
  | { type: 'producer:drain' };

function isMessage(message: unknown): message is { type: string } {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string';
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return isMessage(message) && message.type.startsWith('producer:');
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return isMessage(message) && message.type.startsWith('producer:');
}
