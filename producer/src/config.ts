import { availableParallelism } from 'node:os';
import { checkKafkaConfig, env, kafkaConfigSchema, parseConfig, registryTimeoutConfig } from '@event-pipeline/common';
import { z } from 'zod';

/** Beyond this many processes per producer, run more producers (pods) instead. */
const MAX_WORKERS = 64;

export const producerConfigSchema = z
  .object({
    ...kafkaConfigSchema,
    PORT: env.port('HTTP port of the events API.', 8080),
    HOST: env.string('Interface the events API listens on.', '0.0.0.0'),
    EVENTS_TOPIC: env.string('Topic events are produced to.', 'events'),
    EVENT_SOURCE: env.string('CloudEvents `source` of events whose request names none.', 'urn:event-pipeline:producer'),
    BODY_LIMIT_BYTES: env.int('Largest request body accepted (413 above).', 1_048_576, { min: 1024 }),
    MAX_EVENTS_PER_REQUEST: env.int('Most events one request may carry.', 1000, { min: 1 }),
    MAX_INFLIGHT_EVENTS: env.int('Events waiting for Kafka at once; past it requests get 503 at once.', 20_000, {
      min: 1,
    }),
    MAX_INFLIGHT_BYTES: env.int(
      'Bytes of events waiting for Kafka at once (bounds memory); past it requests get 503 at once.',
      64 * 1024 * 1024,
      { min: 1024 },
    ),
    MAX_RECEIVING_BYTES: env.int(
      'Bytes of request bodies being received at once (bounds memory); past it a request gets 503 at once.',
      32 * 1024 * 1024,
      { min: 1024 },
    ),
    MAX_CONNECTIONS: env.int(
      'Open connections this process holds at once; past it a new connection is closed at once. Bounds the memory that grows with clients (docs/guarantees.md).',
      1000,
      { min: 1 },
    ),
    PRODUCE_TIMEOUT_MS: env.int('How long a request waits for Kafka to acknowledge its events before 503.', 10_000, {
      min: 100,
    }),
    PRODUCE_BATCH_MAX_EVENTS: env.int('Most events in one produce request to Kafka.', 5000, { min: 1 }),
    PRODUCE_BATCH_MAX_BYTES: env.int(
      'Most bytes in one produce request; also the largest single event (keep it under the broker message.max.bytes).',
      900 * 1024,
      { min: 1024 },
    ),
    PRODUCE_LINGER_MS: env.int('Extra wait to fill a produce batch while none is in flight (0: send at once).', 0),
    PRODUCE_COMPRESSION: env.oneOf('Compression of produce requests.', ['none', 'gzip'] as const, 'none'),
    READINESS_INTERVAL_MS: env.int('How often Kafka is probed for readiness.', 2000, { min: 100 }),
    RETRY_AFTER_SECONDS: env.int('Retry-After sent with 503 answers.', 1, { min: 1 }),
    HTTP_REQUEST_TIMEOUT_MS: env.int('Bound on receiving one whole request (slow clients get cut off).', 30_000, {
      min: 1000,
    }),
    HTTP_HEADERS_TIMEOUT_MS: env.int('Bound on receiving the request headers (408 and close past it).', 10_000, {
      min: 1000,
    }),
    HTTP_BODY_TIMEOUT_MS: env.int(
      'Bound on receiving the body of POST /events once its headers are in (408 and close past it).',
      10_000,
      { min: 100 },
    ),
    SCHEMAS_DIR: env.optionalString(
      'Folder of event schemas (`<type>/<version>.json` or `.avsc`) when no SCHEMA_REGISTRY_URL is set; defaults to the `schemas/` folder beside the producer.',
    ),
    SCHEMA_REGISTRY_URL: env.optionalUrl(
      "Base URL of the schema registry's Confluent API (Apicurio: http://host:8081/apis/ccompat/v7); when set, the registry is the one source of event schemas and SCHEMAS_DIR is not read.",
    ),
    SCHEMA_REGISTRY_REFRESH_MS: env.int(
      'How often the list of subjects in the registry, and every subject in it, is read again: the bound on seeing a new type or version (a type the list does not name costs no call).',
      30_000,
      { min: 100 },
    ),
    ...registryTimeoutConfig,
    SCHEMAS_REQUIRED: env.bool('Refuse (422) events whose type has no schema.', false),
    API_KEYS: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((key) => key.trim())
          .filter((key) => key.length > 0),
      )
      .pipe(
        z.array(
          z
            .string()
            .min(16, 'each key must have at least 16 characters')
            .regex(/^[\x21-\x7e]+$/, 'keys are visible ASCII'),
        ),
      )
      .optional()
      .describe(
        'Comma-separated API keys (16+ characters each); when set, POST /events needs `Authorization: Bearer <key>`.',
      ),
    RATE_LIMIT_PER_SECOND: env.int(
      'Requests per second one caller (API key, else client address) may send on average; 0: no limit.',
      0,
    ),
    RATE_LIMIT_BURST: env.int(
      'Requests one caller may send at once before the rate applies (0: one second of rate).',
      0,
    ),
    PRODUCER_WORKERS: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(MAX_WORKERS))
      .optional()
      .describe(
        'Worker processes sharing PORT, each with a share of the budgets; unset: one per core (`os.availableParallelism()`), fewer if the budgets cannot be shared that far; 1: one process.',
      ),
  })
  .superRefine((config, ctx) => {
    checkKafkaConfig(config, ctx);
    if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: `must be at most HTTP_REQUEST_TIMEOUT_MS (${config.HTTP_REQUEST_TIMEOUT_MS})`,
      });
    }
    // An unset PRODUCER_WORKERS is resolved to a count the budgets allow (resolveWorkers).
    for (const issue of budgetIssues(config, config.PRODUCER_WORKERS ?? 1)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type ProducerConfig = z.output<typeof producerConfigSchema>;

/** What `schemas push|check` reads: the producer's own settings for the schema folder and the registry. */
export const schemasCliConfigSchema = z.object({
  SCHEMAS_DIR: producerConfigSchema.shape.SCHEMAS_DIR,
  SCHEMA_REGISTRY_URL: producerConfigSchema.shape.SCHEMA_REGISTRY_URL,
  SCHEMA_REGISTRY_TIMEOUT_MS: producerConfigSchema.shape.SCHEMA_REGISTRY_TIMEOUT_MS,
});

type Budgets = Pick<
  ProducerConfig,
  'MAX_INFLIGHT_EVENTS' | 'MAX_INFLIGHT_BYTES' | 'MAX_RECEIVING_BYTES' | 'MAX_EVENTS_PER_REQUEST' | 'BODY_LIMIT_BYTES'
>;

/**
 * The budgets of one of `workers` processes: an equal share of the whole producer's, rounded
 * down, so that together they never exceed what was configured.
 */
export function budgetShare<C extends Budgets>(config: C, workers: number): C {
  return {
    ...config,
    MAX_INFLIGHT_EVENTS: Math.floor(config.MAX_INFLIGHT_EVENTS / workers),
    MAX_INFLIGHT_BYTES: Math.floor(config.MAX_INFLIGHT_BYTES / workers),
    MAX_RECEIVING_BYTES: Math.floor(config.MAX_RECEIVING_BYTES / workers),
  };
}

/** Why the budgets cannot be shared among `workers` processes (none: they can). */
function budgetIssues(config: Budgets, workers: number): Array<{ path: string[]; message: string }> {
  const share = budgetShare(config, workers);
  const issues: Array<{ path: string[]; message: string }> = [];
  const each = (least: number): string => (workers > 1 ? ` per worker: ${least * workers} for ${workers} workers` : '');
  // A request of the largest size must fit in flight, or it could never be accepted.
  if (share.MAX_INFLIGHT_EVENTS < config.MAX_EVENTS_PER_REQUEST) {
    issues.push({
      path: ['MAX_INFLIGHT_EVENTS'],
      message: `must be at least MAX_EVENTS_PER_REQUEST (${config.MAX_EVENTS_PER_REQUEST})${each(config.MAX_EVENTS_PER_REQUEST)}`,
    });
  }
  if (share.MAX_INFLIGHT_BYTES < config.BODY_LIMIT_BYTES) {
    issues.push({
      path: ['MAX_INFLIGHT_BYTES'],
      message: `must be at least BODY_LIMIT_BYTES (${config.BODY_LIMIT_BYTES})${each(config.BODY_LIMIT_BYTES)}`,
    });
  }
  // A body of the largest size must fit among the large bodies' share, or it could never be read.
  if (share.MAX_RECEIVING_BYTES * 0.75 < config.BODY_LIMIT_BYTES) {
    const least = Math.ceil((config.BODY_LIMIT_BYTES * 4) / 3);
    issues.push({
      path: ['MAX_RECEIVING_BYTES'],
      message: `must be at least 4/3 of BODY_LIMIT_BYTES (${least})${each(least)}`,
    });
  }
  return issues;
}

/**
 * How many worker processes run: PRODUCER_WORKERS when set (validated against the budgets), else
 * one per core, but no more than the budgets can be shared among (each worker must fit a request
 * of the largest size), so that the default starts on any machine.
 */
export function resolveWorkers(config: ProducerConfig, cores: number = availableParallelism()): number {
  if (config.PRODUCER_WORKERS !== undefined) return config.PRODUCER_WORKERS;
  let workers = Math.max(1, Math.min(cores, MAX_WORKERS));
  while (workers > 1 && budgetIssues(config, workers).length > 0) workers -= 1;
  return workers;
}

export function loadProducerConfig(source: Record<string, string | undefined>): ProducerConfig {
  return parseConfig(producerConfigSchema, source);
}
