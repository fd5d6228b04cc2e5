import { checkKafkaConfig, env, kafkaConfigSchema, parseConfig, registryTimeoutConfig } from '@event-pipeline/common';
import { z } from 'zod';

/** The consumer's settings; the `dlq` command reads the same ones (and a few of its own). */
export const consumerConfigShape = {
  ...kafkaConfigSchema,
  METRICS_PORT: env.port('HTTP port of /metrics and the health endpoints.', 9464),
  HOST: env.string('Interface the metrics and health server listens on.', '0.0.0.0'),
  EVENTS_TOPIC: env.string('Topic the events are consumed from.', 'events'),
  DLQ_TOPIC: env.string('Dead-letter topic for events the handler could not process.', 'events.dlq'),
  DLQ_RETENTION_MS: env.int(
    'retention.ms of the dead-letter topic when this service creates it (-1: kept for ever); an existing topic keeps its own.',
    1_209_600_000,
    { min: -1 },
  ),
  CONSUMER_GROUP: env.string('Kafka consumer group id.', 'events-processor'),
  HANDLER_MODULE: env.optionalString(
    'Module (path or package) exporting the event handler; the default handler logs one line per event.',
  ),
  MAX_ATTEMPTS: env.int('Attempts at a retriable failure before the event is dead-lettered.', 5, {
    min: 1,
    max: 100,
  }),
  RETRY_INITIAL_DELAY_MS: env.int('First backoff between attempts; it grows exponentially with jitter.', 200),
  RETRY_MAX_DELAY_MS: env.int('Longest backoff between two attempts.', 5000),
  HANDLER_TIMEOUT_MS: env.int('One handler attempt longer than this fails (retriably); its signal aborts.', 30_000, {
    min: 1,
  }),
  DEAD_LETTER_TIMEOUT_MS: env.int(
    'A dead-letter write unacknowledged by then fails; the event stays uncommitted and comes again.',
    30_000,
    { min: 100 },
  ),
  PARTITIONS_CONSUMED_CONCURRENTLY: env.int('Partitions processed at the same time (order holds within each).', 3, {
    min: 1,
  }),
  HANDLER_CONCURRENCY: env.int(
    'Events of one partition handled at the same time; events of one key (`partitionkey`, else the subject) always one after the other, in order.',
    16,
    { min: 1, max: 1000 },
  ),
  SESSION_TIMEOUT_MS: env.int('Kafka group session timeout.', 30_000, { min: 6000 }),
  HEARTBEAT_INTERVAL_MS: env.int('Kafka group heartbeat interval.', 3000, { min: 100 }),
  DEDUPE_WINDOW_SIZE: env.int(
    'Events (by caller, source and id) remembered after processing, to drop duplicates of them (0: no de-duplication).',
    100_000,
    { max: 10_000_000 },
  ),
  DEDUPE_WINDOW_MS: env.int(
    'How long a processed event is remembered for de-duplication (0: until newer ones push it out).',
    3_600_000,
  ),
  SCHEMA_REGISTRY_URL: env.optionalUrl(
    "Base URL of the schema registry's Confluent API (Apicurio: http://host:8081/apis/ccompat/v7); when set, Avro data is decoded before the handler runs (else it reaches the handler as bytes).",
  ),
  ...registryTimeoutConfig,
  FROM_BEGINNING: env.bool('A new group starts at the earliest offset (no event accepted before it is skipped).', true),
};

/** The checks across the consumer's settings, for its schema and the `dlq` command's. */
export function checkConsumerConfig(
  config: z.output<z.ZodObject<typeof consumerConfigShape>>,
  ctx: z.RefinementCtx,
): void {
  checkKafkaConfig(config, ctx);
  if (config.HEARTBEAT_INTERVAL_MS * 3 > config.SESSION_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['HEARTBEAT_INTERVAL_MS'],
      message: `must be at most a third of SESSION_TIMEOUT_MS (${config.SESSION_TIMEOUT_MS})`,
    });
  }
  if (config.RETRY_INITIAL_DELAY_MS > config.RETRY_MAX_DELAY_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['RETRY_INITIAL_DELAY_MS'],
      message: `must not exceed RETRY_MAX_DELAY_MS (${config.RETRY_MAX_DELAY_MS})`,
    });
  }
}

export const consumerConfigSchema = z.object(consumerConfigShape).superRefine(checkConsumerConfig);

export type ConsumerConfig = z.output<typeof consumerConfigSchema>;

export function loadConsumerConfig(source: Record<string, string | undefined>): ConsumerConfig {
  return parseConfig(consumerConfigSchema, source);
}
