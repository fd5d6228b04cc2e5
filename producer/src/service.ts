import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createKafkaClient,
  createMetricsRegistry,
  errorMessage,
  type Logger,
  type Registry,
} from '@event-pipeline/common';
import { createApp } from './app';
import type { ProducerConfig } from './config';
import { createProducerMetrics } from './metrics';
import { createKafkaPublisher, type KafkaPublisher } from './publisher';

export interface ProducerService {
  readonly server: Server;
  readonly port: number;
  readonly publisher: KafkaPublisher;
  readonly registry: Registry;
  /** Resolves once connected to Kafka with the topic in place (the service is ready). */
  readonly started: Promise<void>;
  /** Graceful: not ready, no new connections, in-flight requests answered, producer flushed. */
  stop(): Promise<void>;
}

/** The composition root of the producer, shared by main.ts and the tests. */
export async function startProducerService(
  config: ProducerConfig,
  { logger }: { logger: Logger },
): Promise<ProducerService> {
  const registry = createMetricsRegistry();
  const metrics = createProducerMetrics(registry);
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? 'producer',
    connectionTimeoutMs: config.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS,
    logger,
  });
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, topic: config.EVENTS_TOPIC, brokers: config.KAFKA_BROKERS }, 'listening');

  const starting = new AbortController();
  const started = publisher.start(starting.signal).then(
    () => logger.info('started'),
    (error: unknown) => {
      if (starting.signal.aborted) return;
      logger.error({ err: errorMessage(error) }, 'start failed');
      throw error;
    },
  );
  started.catch(() => undefined);

  return {
    server,
    port,
    publisher,
    registry,
    started,
    async stop() {
      draining = true;
      starting.abort();
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
