import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import {
  createMetricsRegistry,
  createKafkaClient,
  listen,
  schemaRegistryOf,
  startInBackground,
  type Logger,
  type RunningService,
} from '@event-pipeline/common';
import { ApiKeys } from './api-keys';
import { createApp, type AppOptions } from './app';
import { answerClientErrorsAsProblems } from './client-errors';
import type { ProducerConfig } from './config';
import { DataSchemas, type SchemaCatalog } from './events/data-schemas';
import { RegistrySchemas } from './events/registry-schemas';
import { createProducerMetrics } from './metrics';
import type { Readiness } from './kafka/event-publisher';
import { createKafkaPublisher, type KafkaPublisher } from './kafka/publisher';
import { RateLimiter } from './rate-limit';
import { ReceiveBudget } from './receive-budget';
import { RequestTracker } from './request-tracker';

/** This package's version, for the OpenAPI document (package.json sits beside src/ and dist/). */
const VERSION = (JSON.parse(readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
  .version;

/** The repository's schemas/ folder, from src/ or dist/ alike (and /app/schemas in the image). */
export const DEFAULT_SCHEMAS_DIR = path.resolve(__dirname, '..', '..', 'schemas');

/** `started`: connected with the topic in place. `stop`: not ready, no new connections, in-flight requests answered, producer flushed. */
export interface ProducerService extends RunningService {
  readonly publisher: KafkaPublisher;
}

/** What a worker of several (cluster/worker.ts) changes: the answers that speak for the whole producer. */
export interface ProducerServiceHooks {
  /** Whether the other processes are ready; this one's publisher must be too. */
  othersReadiness?: () => Readiness;
  /** The answer to a scrape of /metrics, for every process of the producer. */
  exposeMetrics?: AppOptions['exposeMetrics'];
}

/** The composition root of the producer, shared by main.ts and the tests. */
export async function startProducerService(
  config: ProducerConfig,
  { logger, othersReadiness, exposeMetrics }: { logger: Logger } & ProducerServiceHooks,
): Promise<ProducerService> {
  const registry = createMetricsRegistry();
  // With a registry it is the one source of schemas; without, the schema folder is, and a broken
  // schema in it stops the start before anything connects.
  let schemas: SchemaCatalog;
  let registrySchemas: RegistrySchemas | undefined;
  const schemaRegistry = schemaRegistryOf(config, registry);
  if (schemaRegistry) {
    registrySchemas = new RegistrySchemas({ ...schemaRegistry, logger, refreshMs: config.SCHEMA_REGISTRY_REFRESH_MS });
    schemas = registrySchemas;
  } else {
    schemas = DataSchemas.load(config.SCHEMAS_DIR ?? DEFAULT_SCHEMAS_DIR);
  }
  const metrics = createProducerMetrics(registry);
  metrics.setInfo({ topic: config.EVENTS_TOPIC });
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
    bodyTimeoutMs: config.HTTP_BODY_TIMEOUT_MS,
    maxEventsPerRequest: config.MAX_EVENTS_PER_REQUEST,
    receiveBudget: new ReceiveBudget(config.MAX_RECEIVING_BYTES),
    schemas,
    schemasRequired: config.SCHEMAS_REQUIRED,
    apiKeys: new ApiKeys(config.API_KEYS ?? []),
    ...(config.RATE_LIMIT_PER_SECOND > 0
      ? {
          rateLimiter: new RateLimiter({
            ratePerSecond: config.RATE_LIMIT_PER_SECOND,
            burst: config.RATE_LIMIT_BURST > 0 ? config.RATE_LIMIT_BURST : config.RATE_LIMIT_PER_SECOND,
          }),
        }
      : {}),
    eventSource: config.EVENT_SOURCE,
    version: VERSION,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    isDraining: () => draining,
    ...(othersReadiness
      ? {
          readiness: (): Readiness => {
            const own = publisher.readiness();
            return own.ready ? othersReadiness() : own;
          },
        }
      : {}),
    ...(exposeMetrics ? { exposeMetrics } : {}),
  });
  app.silent = true;

  // Live from the first moment; ready once the publisher is.
  // Node checks the header and request timeouts every connectionsCheckingInterval (30 s by
  // default), which would let a slow client hold a connection well past them.
  const server = createServer(
    {
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1000, config.HTTP_HEADERS_TIMEOUT_MS / 2),
    },
    app.callback(),
  );
  answerClientErrorsAsProblems(server);
  server.keepAliveTimeout = 65_000;
  // Per process: what Node may hold per connection (a socket read of a refused body) times this
  // bounds the memory that grows with clients; past it Node closes new connections at once.
  server.maxConnections = config.MAX_CONNECTIONS;
  const port = await listen(server, config.PORT, config.HOST);
  logger.info(
    {
      port,
      topic: config.EVENTS_TOPIC,
      brokers: config.KAFKA_BROKERS,
      ...(config.SCHEMA_REGISTRY_URL
        ? { schemaRegistry: config.SCHEMA_REGISTRY_URL }
        : { schemas: (schemas as DataSchemas).list().length }),
      apiKeys: config.API_KEYS?.length ?? 0,
    },
    'listening',
  );
  // Said at every start, so an API that was meant to be closed is not open unnoticed.
  if (!config.API_KEYS?.length)
    logger.warn({ authentication: 'none' }, 'POST /events is open to every caller: API_KEYS is not set');
  else logger.info({ authentication: 'api-keys', apiKeys: config.API_KEYS.length }, 'POST /events needs an API key');

  registrySchemas?.start();
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
      registrySchemas?.stop();
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
