import { createServer } from 'node:http';
import {
  createMetricsRegistry,
  createKafkaClient,
  listen,
  startInBackground,
  type Logger,
  type RunningService,
} from '@event-pipeline/common';
import { createApp } from './app';
import { answerClientErrorsAsProblems } from './client-errors';
import type { ProducerConfig } from './config';
import { createProducerMetrics } from './metrics';
import { createKafkaPublisher, type KafkaPublisher } from './publisher';
import { RequestTracker } from './request-tracker';

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
  const kafka = createKafkaClient(config, 'producer', logger);
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
    maxInFlightBytes: config.MAX_INFLIGHT_BYTES,
    readinessIntervalMs: config.READINESS_INTERVAL_MS,
  });

  let draining = false;
  const requests = new RequestTracker();
  const app = createApp({
    requests,
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
  answerClientErrorsAsProblems(server);
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
      const deadline = Date.now() + Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 1000);
      const remaining = (): number => Math.max(0, deadline - Date.now());
      draining = true;
      abort();
      // No new connections; idle keep-alive ones close now, busy ones after their answer.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests already accepted finish: their events are acknowledged and they get answers.
      if (!(await requests.idle(remaining()))) {
        logger.warn({ requests: requests.inProgress }, 'requests still in progress at shut-down');
      }
      await publisher.stop(remaining());
      logger.info({ pending: publisher.pending }, 'producer flushed');
      // A connection that was busy a moment ago may be idle now; past the deadline, close all.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      const cutoff = setTimeout(() => server.closeAllConnections(), remaining());
      await closed.finally(() => {
        clearInterval(sweep);
        clearTimeout(cutoff);
      });
      logger.info('http server closed');
    },
  };
}
