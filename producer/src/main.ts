import cluster from 'node:cluster';
import { ConfigError, createLogger, errorMessage, exitOnSignals, type Logger } from '@event-pipeline/common';
import { runPrimary } from './cluster/primary';
import { loadProducerConfig, resolveWorkers, type ProducerConfig } from './config';

/** PRODUCER_WORKERS=1: the whole producer in this one process, as before there were workers. */
async function runSingle(config: ProducerConfig, logger: Logger): Promise<void> {
  const { startProducerService } = await import('./service.js');
  const service = await startProducerService(config, { logger });
  // A start-up that Kafka refused for good (see connectWithRetry) shuts down and exits 1.
  let failed = false;
  exitOnSignals({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    shutdown: () => service.stop(),
    exit: (code) => process.exit(failed ? 1 : code),
  });
  service.started.catch(() => {
    failed = true;
    process.kill(process.pid, 'SIGTERM');
  });
}

async function main(): Promise<void> {
  // Every process reads and checks the environment itself, once; the primary gives its workers
  // the resolved PRODUCER_WORKERS, so that all of them take the same share of the budgets.
  const config = loadProducerConfig(process.env);
  const logger = createLogger({ service: 'producer', level: config.LOG_LEVEL });
  const workers = resolveWorkers(config);
  // The app, KafkaJS and the validators load only where requests are served, not in a primary.
  if (cluster.isWorker) {
    const { runWorker } = await import('./cluster/worker.js');
    await runWorker({ config, workers, logger: logger.child({ worker: cluster.worker?.id }) });
  } else if (workers > 1) {
    runPrimary({ config, workers, logger });
  } else {
    await runSingle(config, logger);
  }
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `failed to start: ${errorMessage(error)}`;
  process.stderr.write(`producer: ${message}\n`);
  // A worker that cannot start would fail again in its replacement: the primary stops instead.
  if (cluster.isWorker && process.send) process.send({ type: 'producer:start-failed' }, () => process.exit(1));
  else process.exit(1);
});
