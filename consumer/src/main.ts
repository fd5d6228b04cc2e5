import { ConfigError, createLogger, errorMessage, exitOnSignals } from '@event-pipeline/common';
import { loadConsumerConfig } from './config';
import { startConsumerService } from './service';

async function main(): Promise<void> {
  const config = loadConsumerConfig(process.env);
  const logger = createLogger({ service: 'consumer', level: config.LOG_LEVEL });
  // When the client gives up for good, shut down cleanly and exit 1, so the supervisor
  // (compose, Kubernetes) restarts the process with a fresh client.
  let failed = false;
  const fail = (): void => {
    failed = true;
    process.kill(process.pid, 'SIGTERM');
  };
  const service = await startConsumerService(config, { logger, onFatal: fail });
  exitOnSignals({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    shutdown: () => service.stop(),
    exit: (code) => process.exit(failed ? 1 : code),
  });
  service.started.catch(fail);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `failed to start: ${errorMessage(error)}`;
  process.stderr.write(`consumer: ${message}\n`);
  process.exit(1);
});
