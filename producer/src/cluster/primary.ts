import cluster, { type Worker } from 'node:cluster';
import { Counter, createMetricsRegistry, Gauge, shutdownOnce, type Logger } from '@event-pipeline/common';
import type { ProducerConfig } from '../config';
import type { Readiness } from '../kafka/event-publisher';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './messages';
import { retireProcess, type ProcessSnapshot } from './process-metrics';
import { readinessOfWorkers } from './readiness';

/** A worker that dies sooner than this after its fork counts as dying at start. */
const QUICK_DEATH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;

export interface PrimaryOptions {
  config: ProducerConfig;
  /** How many workers to keep running. */
  workers: number;
  logger: Logger;
  /** How long a scrape waits for a worker's metrics before it takes the ones it collected last. */
  collectTimeoutMs?: number;
}

interface WorkerState {
  readonly worker: Worker;
  readonly forkedAt: number;
  readiness: Readiness;
  /** Its metrics as last collected. */
  snapshot?: ProcessSnapshot;
}

interface Collection {
  readonly waiting: Set<number>;
  finish(): void;
}

/**
 * The primary of a producer of several processes: it serves no request itself. It forks
 * `workers` workers that share the listening socket (node:cluster hands each connection to
 * one of them), replaces a worker that exits unasked, tells every worker whether all of them
 * are ready, gathers every process's metrics for a scrape, and on SIGTERM or SIGINT drains
 * them all and exits within SHUTDOWN_TIMEOUT_MS.
 */
export function runPrimary({ config, workers, logger, collectTimeoutMs = 3000 }: PrimaryOptions): void {
  // Structured clone keeps what JSON would not (NaN gauges, +Inf).
  cluster.setupPrimary({ serialization: 'advanced' });
  const states = new Map<number, WorkerState>();
  const collections = new Map<number, Collection>();
  let nextCollection = 0;
  let retired: ProcessSnapshot = [];
  let stopping = false;
  let startFailed = false;
  const exitCodes: number[] = [];
  let allStopped = (): void => undefined;
  let allReady: Readiness = { ready: false, reason: 'starting' };
  /** Workers in a row that died soon after they were forked: each replacement waits longer. */
  let quickDeaths = 0;

  const registry = createMetricsRegistry();
  new Gauge({
    name: 'events_producer_workers',
    help: 'Worker processes of the producer that are running (PRODUCER_WORKERS when all are).',
    registers: [registry],
    collect() {
      this.set(states.size);
    },
  });
  const restarts = new Counter({
    name: 'events_producer_worker_restarts_total',
    help: 'Worker processes that exited unasked and were replaced.',
    registers: [registry],
  });

  const send = (worker: Worker, message: PrimaryMessage): void => {
    if (!worker.isConnected()) return;
    // A worker that is going away may close its channel between the check and the send.
    worker.send(message, (error: Error | null) => {
      if (error) logger.debug({ worker: worker.id, err: error.message }, 'message to worker not delivered');
    });
  };

  const publishReadiness = (): void => {
    const next = readinessOfWorkers(
      [...states.values()].map((state) => state.readiness),
      workers,
    );
    if (next.ready === allReady.ready && next.reason === allReady.reason) return;
    allReady = next;
    for (const { worker } of states.values()) send(worker, { type: 'producer:all-ready', readiness: allReady });
  };

  const fork = (): void => {
    // The count resolved here, so that every worker takes the same share of the budgets.
    const worker = cluster.fork({ PRODUCER_WORKERS: String(workers) });
    states.set(worker.id, { worker, forkedAt: Date.now(), readiness: { ready: false, reason: 'starting' } });
    logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker started');
    publishReadiness();
  };

  /** Every process's metrics: the primary's, the retired workers', then each worker's. */
  const collect = async (): Promise<ProcessSnapshot[]> => {
    const id = nextCollection++;
    const targets = [...states.values()].filter((state) => state.worker.isConnected());
    await new Promise<void>((resolve) => {
      if (targets.length === 0) {
        resolve();
        return;
      }
      const timer = setTimeout(() => finish(), collectTimeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        collections.delete(id);
        resolve();
      };
      collections.set(id, { waiting: new Set(targets.map((state) => state.worker.id)), finish });
      for (const { worker } of targets) send(worker, { type: 'producer:collect', id });
    });
    const own = (await registry.getMetricsAsJSON()) as unknown as ProcessSnapshot;
    // A worker that did not answer in time counts with its last snapshot, so that no counter
    // of the producer seems to go down.
    return [own, retired, ...[...states.values()].flatMap((state) => (state.snapshot ? [state.snapshot] : []))];
  };

  const onMessage = (worker: Worker, message: WorkerMessage): void => {
    const state = states.get(worker.id);
    if (!state) return;
    switch (message.type) {
      case 'producer:readiness':
        state.readiness = message.readiness;
        publishReadiness();
        // A worker that just came up has not heard the state of the others yet.
        send(worker, { type: 'producer:all-ready', readiness: allReady });
        return;
      case 'producer:snapshot': {
        state.snapshot = message.snapshot;
        const collection = collections.get(message.id);
        collection?.waiting.delete(worker.id);
        if (collection?.waiting.size === 0) collection.finish();
        return;
      }
      case 'producer:scrape':
        void collect().then((snapshots) => send(worker, { type: 'producer:snapshots', id: message.id, snapshots }));
        return;
      case 'producer:start-failed':
        startFailed = true;
        beginShutdown('SIGTERM');
        return;
    }
  };

  cluster.on('message', (worker, message: unknown) => {
    if (isWorkerMessage(message)) onMessage(worker, message);
  });
  cluster.on('exit', (worker, code, signal) => {
    const state = states.get(worker.id);
    if (!state) return;
    states.delete(worker.id);
    if (state.snapshot) retired = retireProcess(retired, state.snapshot);
    for (const collection of collections.values()) {
      collection.waiting.delete(worker.id);
      if (collection.waiting.size === 0) collection.finish();
    }
    if (stopping) {
      exitCodes.push(code ?? 1);
      if (states.size === 0) allStopped();
      return;
    }
    // Its connections died with it: their clients got no answer, never a 2xx for events
    // Kafka had not acknowledged. The replacement takes new connections once it is ready.
    quickDeaths = Date.now() - state.forkedAt < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
    const delayMs = quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (quickDeaths - 1));
    logger.error(
      { worker: worker.id, pid: worker.process.pid, code, signal, restart_in_ms: delayMs },
      'worker exited, starting another',
    );
    restarts.inc();
    publishReadiness();
    // A worker that keeps dying at start does not make the primary fork in a busy loop.
    setTimeout(() => {
      if (!stopping) fork();
    }, delayMs);
  });

  const stopWorkers = async (): Promise<void> => {
    stopping = true;
    await new Promise<void>((resolve) => {
      allStopped = resolve;
      if (states.size === 0) resolve();
      for (const { worker } of states.values()) send(worker, { type: 'producer:drain' });
    });
    const failed = exitCodes.filter((code) => code !== 0).length;
    if (failed > 0) throw new Error(`${failed} of ${workers} workers did not shut down cleanly`);
  };
  const exit = (code: number): void => {
    // Past the bound: whatever still runs goes now.
    for (const { worker } of states.values()) worker.process.kill('SIGKILL');
    process.exit(startFailed ? 1 : code);
  };
  const beginShutdown = shutdownOnce({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, shutdown: stopWorkers, exit });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (beginShutdown(signal)) return;
    logger.warn({ signal }, 'second signal, exiting now');
    exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  logger.info({ workers, port: config.PORT }, 'starting workers');
  for (let index = 0; index < workers; index += 1) fork();
}
