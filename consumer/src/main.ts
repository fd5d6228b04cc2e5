import { ConfigError, createLogger, errorMessage, exitOnSignals } from '@event-pipeline/common';
import { loadConsumerConfig } from './config';
import { startConsumerService } from './service';

async function main(): Promise<void> {
  const config = loadConsumerConfig(process.env);
  const logger = createLogger({ service: 'consumer', level: config.LOG_LEVEL });
  const service = await startConsumerService(config, {
    logger,
    // Let the supervisor (compose, Kubernetes) restart the process with a clean client.
    onFatal: () => process.kill(process.pid, 'SIGTERM'),
  });
  exitOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, shutdown: () => service.stop() });
  service.started.catch(() => process.kill(process.pid, 'SIGTERM'));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `failed to start: ${errorMessage(error)}`;
  process.stderr.write(`consumer: ${message}\n`);
  process.exit(1);
});
