import { ConfigError, createLogger, errorMessage, exitOnSignals } from '@event-pipeline/common';
import { loadProducerConfig } from './config';
import { startProducerService } from './service';

async function main(): Promise<void> {
  const config = loadProducerConfig(process.env);
  const logger = createLogger({ service: 'producer', level: config.LOG_LEVEL });
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

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `failed to start: ${errorMessage(error)}`;
  process.stderr.write(`producer: ${message}\n`);
  process.exit(1);
});
