import {
  connectWithRetry,
  createMetricsRegistry,
  createOpsServer,
  createKafkaClient,
  listen,
  provisionTopics,
  schemaRegistryOf,
  startInBackground,
  type Logger,
  type RunningService,
} from '@event-pipeline/common';
import type { ConsumerConfig } from './config';
import { createDataDecoder } from './data-decoder';
import { loadHandlerModule, type EventHandler } from './handler';
import { createLogHandler } from './handlers/log-handler';
import { createKafkaDeadLetterSink } from './kafka-dead-letter';
import { createKafkaSource } from './kafka-source';
import { createConsumerMetrics } from './metrics';
import { createRecentlyProcessed } from './recently-processed';
import { createWorker, type Worker } from './worker';

/** `started`: connected, topics in place, subscribed. `stop`: finish the events in hand, commit, leave the group, close. */
export interface ConsumerService extends RunningService {
  readonly worker: Worker;
}

export interface ConsumerServiceDeps {
  logger: Logger;
  /** Overrides HANDLER_MODULE and the default handler (tests and embedding). */
  handler?: EventHandler;
  /** The client gave up for good; main.ts exits so the supervisor restarts the process. */
  onFatal?: (error: unknown) => void;
}

/** The composition root of the consumer, shared by main.ts and the tests. */
export async function startConsumerService(
  config: ConsumerConfig,
  deps: ConsumerServiceDeps,
): Promise<ConsumerService> {
  const { logger } = deps;
  const registry = createMetricsRegistry();
  const metrics = createConsumerMetrics(registry);
  metrics.setInfo({
    consumerGroup: config.CONSUMER_GROUP,
    topic: config.EVENTS_TOPIC,
    deadLetterTopic: config.DLQ_TOPIC,
  });
  const handler =
    deps.handler ??
    (config.HANDLER_MODULE ? await loadHandlerModule(config.HANDLER_MODULE, logger) : createLogHandler({ logger }));
  const kafka = createKafkaClient(config, 'consumer', logger);
  const source = createKafkaSource({
    kafka,
    groupId: config.CONSUMER_GROUP,
    topic: config.EVENTS_TOPIC,
    fromBeginning: config.FROM_BEGINNING,
    partitionsConsumedConcurrently: config.PARTITIONS_CONSUMED_CONCURRENTLY,
    handlerConcurrency: config.HANDLER_CONCURRENCY,
    sessionTimeoutMs: config.SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    logger,
    metrics,
    onFatal: (error) => deps.onFatal?.(error),
  });
  const deadLetter = createKafkaDeadLetterSink({
    kafka,
    topic: config.DLQ_TOPIC,
    groupId: config.CONSUMER_GROUP,
    logger,
  });
  let dataDecoder;
  const schemaRegistry = schemaRegistryOf(config, registry);
  if (schemaRegistry) {
    dataDecoder = createDataDecoder({
      ...schemaRegistry,
      logger,
      initialDelayMs: Math.max(100, config.RETRY_INITIAL_DELAY_MS),
      maxDelayMs: Math.max(100, config.RETRY_MAX_DELAY_MS),
    });
  }
  const worker = createWorker({
    dataDecoder,
    source,
    deadLetter,
    handler,
    logger,
    metrics,
    retry: {
      maxAttempts: config.MAX_ATTEMPTS,
      initialDelayMs: config.RETRY_INITIAL_DELAY_MS,
      maxDelayMs: config.RETRY_MAX_DELAY_MS,
    },
    handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
    deadLetterTimeoutMs: config.DEAD_LETTER_TIMEOUT_MS,
    recentlyProcessed:
      config.DEDUPE_WINDOW_SIZE > 0
        ? createRecentlyProcessed({ maxEntries: config.DEDUPE_WINDOW_SIZE, maxAgeMs: config.DEDUPE_WINDOW_MS })
        : undefined,
  });

  const server = createOpsServer({ registry, isReady: () => worker.isReady(), logger });
  const port = await listen(server, config.METRICS_PORT, config.HOST);
  logger.info({ port, topic: config.EVENTS_TOPIC, group: config.CONSUMER_GROUP }, 'listening');

  const { started, abort } = startInBackground(async (signal) => {
    await provisionTopics(
      kafka,
      [
        { topic: config.EVENTS_TOPIC },
        // Dead letters are never deleted by hand (`dlq` only reads and redrives them): retention does it.
        { topic: config.DLQ_TOPIC, configEntries: [{ name: 'retention.ms', value: String(config.DLQ_RETENTION_MS) }] },
      ].map((spec) => ({
        ...spec,
        numPartitions: config.TOPIC_PARTITIONS,
        replicationFactor: config.TOPIC_REPLICATION_FACTOR,
      })),
      { logger, signal },
    );
    await connectWithRetry(() => deadLetter.connect(), { logger, what: 'kafka dead-letter producer', signal });
    await worker.start(signal);
  }, logger);

  return {
    server,
    port,
    registry,
    worker,
    started,
    async stop() {
      abort();
      await worker.stop();
      await deadLetter.disconnect();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
