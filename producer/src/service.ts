import { createServer } from 'node:http';
import {
  createMetricsRegistry,
  kafkaClientFromConfig,
  listen,
  startInBackground,
  type Logger,
  type RunningService,
} from '@event-pipeline/common';
import { createApp } from './app';
import type { ProducerConfig } from './config';
import { createProducerMetrics } from './metrics';
import { createKafkaPublisher, type KafkaPublisher } from './publisher';

/** `started`: connected with the topic in place. `stop`: not ready, no new connections, in-flight requests answered, producer flushed. */
export interface ProducerService extends RunningService {
  readonly publisher: KafkaPublisher;
}

/** The composition root of the producer, shared by main.ts and the tests. */
export async function startProducerService(
  config: ProducerConfig,
  { logger }: { logger: Logger },
): Promise<ProducerService> {
  const registry = createMetricsRegistry();
  const metrics = createProducerMetrics(registry);
  const kafka = kafkaClientFromConfig(config, 'producer', logger);
  const publisher = createKafkaPublisher({
    kafka,
    topic: config.EVENTS_TOPIC,
    topicPartitions: config.TOPIC_PARTITIONS,
    topicReplicationFactor: config.TOPIC_REPLICATION_FACTOR,
    logger,
    metrics,
    batchMaxEvents: config.PRODUCE_BATCH_MAX_EVENTS,
    batchMaxBytes: config.PRODUCE_BATCH_MAX_BYTES,
    lingerMs: config.PRODUCE_LINGER_MS,
    compression: config.PRODUCE_COMPRESSION,
    produceTimeoutMs: config.PRODUCE_TIMEOUT_MS,
    maxInFlightEvents: config.MAX_INFLIGHT_EVENTS,
    readinessIntervalMs: config.READINESS_INTERVAL_MS,
  });

  let draining = false;
  const app = createApp({
    publisher,
    logger,
    registry,
    metrics,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    maxEventsPerRequest: config.MAX_EVENTS_PER_REQUEST,
    eventSource: config.EVENT_SOURCE,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    isDraining: () => draining,
  });
  app.silent = true;

  // Live from the first moment; ready once the publisher is.
  const server = createServer(app.callback());
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(config.HTTP_REQUEST_TIMEOUT_MS, 60_000);
  server.keepAliveTimeout = 65_000;
  const port = await listen(server, config.PORT, config.HOST);
  logger.info({ port, topic: config.EVENTS_TOPIC, brokers: config.KAFKA_BROKERS }, 'listening');

  const { started, abort } = startInBackground((signal) => publisher.start(signal), logger);

  return {
    server,
    port,
    publisher,
    registry,
    started,
    async stop() {
      draining = true;
      abort();
      // No new connections; idle keep-alive ones close now, busy ones after their answer.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await publisher.stop(Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 1000));
      logger.info({ pending: publisher.pending }, 'producer flushed');
      // A connection that was busy a moment ago may be idle now.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      await closed.finally(() => clearInterval(sweep));
      logger.info('http server closed');
    },
  };
}
