import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { PipelineError } from './errors';

/**
 * Thrown when the environment does not satisfy a process's config schema. The message is one
 * line naming the variable, so the process can print it and exit.
 */
export class ConfigError extends PipelineError {
  /** The process cannot start until the setting is changed. */
  readonly retriable = false;
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`invalid configuration: ${variable}: ${reason}`);
  }
}

/** Reads `env` once against `schema`; every key of the schema is an environment variable. */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  // An empty value means "not set", so a blank line in an env file falls back to the default.
  const present = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = issue?.path.map(String).join('.') || 'environment';
  throw new ConfigError(variable, issue?.message ?? 'invalid');
}

/** The keys of a config schema with their descriptions and defaults, for docs and `--help`. */
export function describeConfig(
  schema: z.ZodObject,
): Array<{ variable: string; description: string; default?: unknown }> {
  return Object.entries(schema.shape).map(([variable, field]) => {
    const type = field as z.ZodType;
    const parsedDefault = type.safeParse(undefined);
    return {
      variable,
      description: type.description ?? '',
      ...(parsedDefault.success && parsedDefault.data !== undefined ? { default: parsedDefault.data } : {}),
    };
  });
}

/** Typed builders for environment values: each takes a doc line, and most a default. */
export const env = {
  string: (description: string, defaultValue?: string) =>
    (defaultValue === undefined ? z.string().min(1) : z.string().min(1).default(defaultValue)).describe(description),

  optionalString: (description: string) => z.string().min(1).optional().describe(description),

  /** An http(s) URL, trailing slashes dropped. */
  optionalUrl: (description: string) =>
    z
      .string()
      .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL')
      .transform((url) => url.replace(/\/+$/, ''))
      .optional()
      .describe(description),

  int: (description: string, defaultValue: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) =>
    z
      .string()
      .regex(/^-?\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .default(defaultValue)
      .describe(description),

  port: (description: string, defaultValue: number) =>
    z
      .string()
      .regex(/^\d+$/, 'must be a port number')
      .transform(Number)
      .pipe(z.number().int().min(0).max(65535))
      .default(defaultValue)
      .describe(description),

  bool: (description: string, defaultValue: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .transform((value) => value === 'true' || value === '1' || value === 'yes')
      .default(defaultValue)
      .describe(description),

  list: (description: string, defaultValue: string[]) =>
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .pipe(z.array(z.string()).min(1, 'must list at least one value'))
      .default(defaultValue)
      .describe(description),

  /** A path to a file this process can read, checked at start. */
  optionalFile: (description: string) =>
    z
      .string()
      .min(1)
      .superRefine((file, ctx) => {
        try {
          accessSync(file, constants.R_OK);
          if (!statSync(file).isFile()) ctx.addIssue({ code: 'custom', message: `${file} is not a file` });
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'unreadable';
          ctx.addIssue({ code: 'custom', message: `cannot read ${file} (${code})` });
        }
      })
      .optional()
      .describe(description),

  oneOf: <const T extends readonly [string, ...string[]]>(description: string, values: T, defaultValue: T[number]) =>
    z.enum(values).default(defaultValue).describe(description),
};

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The bound on one registry call, the same for every process that asks the schema registry. */
export const registryTimeoutConfig = {
  SCHEMA_REGISTRY_TIMEOUT_MS: env.int('Bound on one call to the schema registry.', 5000, { min: 100 }),
};

/** Settings every process shares: where Kafka is, how to reach it securely, how loudly to log. */
export const kafkaConfigSchema = {
  KAFKA_BROKERS: env
    .list('Kafka bootstrap servers, comma-separated host:port.', ['localhost:9092'])
    .refine((brokers) => brokers.every((broker) => /^[^\s:,]+:\d{1,5}$/.test(broker)), 'each broker must be host:port'),
  KAFKA_CLIENT_ID: env.optionalString('Kafka client id; defaults to the service name.'),
  KAFKA_CONNECTION_TIMEOUT_MS: env.int('Time to establish a TCP connection to a broker.', 3000, { min: 100 }),
  KAFKA_REQUEST_TIMEOUT_MS: env.int('Time to wait for a broker to answer one request.', 30000, { min: 100 }),
  KAFKA_SASL_MECHANISM: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(SASL_MECHANISMS, { message: `must be one of ${SASL_MECHANISMS.join(', ')}` }))
    .optional()
    .describe('SASL mechanism to authenticate to Kafka: plain, scram-sha-256 or scram-sha-512 (unset: no SASL).'),
  KAFKA_SASL_USERNAME: env.optionalString('SASL user name; required with KAFKA_SASL_MECHANISM.'),
  KAFKA_SASL_PASSWORD: env.optionalString('SASL password; required with KAFKA_SASL_MECHANISM. Never logged.'),
  KAFKA_SSL: env.bool('Connect to Kafka over TLS.', false),
  KAFKA_SSL_CA_FILE: env.optionalFile(
    "PEM file of the CA certificates that sign the brokers' certificates (unset: the system's CAs).",
  ),
  KAFKA_SSL_CERT_FILE: env.optionalFile('PEM client certificate, for brokers that require mutual TLS.'),
  KAFKA_SSL_KEY_FILE: env.optionalFile('PEM private key of KAFKA_SSL_CERT_FILE (unencrypted).'),
  KAFKA_SSL_REJECT_UNAUTHORIZED: env.bool(
    'Refuse brokers whose certificate the CAs do not vouch for or whose name does not match (false only for tests).',
    true,
  ),
  TOPIC_PARTITIONS: env.int('Partitions of a topic this service creates when it is missing.', 6, { min: 1 }),
  TOPIC_REPLICATION_FACTOR: env.int(
    'Replication factor of a topic this service creates when it is missing (-1: the broker default).',
    -1,
    { min: -1 },
  ),
  LOG_LEVEL: env.oneOf('Log level.', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  SHUTDOWN_TIMEOUT_MS: env.int('Bound on a graceful shut-down; past it the process exits anyway.', 15000, { min: 100 }),
};

/** The Kafka security settings, as parsed (see kafkaConfigSchema). */
export interface KafkaSecurityConfig {
  KAFKA_SASL_MECHANISM?: SaslMechanism | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_SSL?: boolean | undefined;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SSL_CERT_FILE?: string | undefined;
  KAFKA_SSL_KEY_FILE?: string | undefined;
}

/**
 * The checks across the Kafka security settings, for each service's `superRefine`: a setting
 * that would be silently ignored, or half of a pair, is an error naming what to set.
 */
export function checkKafkaConfig(config: KafkaSecurityConfig, ctx: z.RefinementCtx): void {
  const issue = (variable: string, message: string): void =>
    ctx.addIssue({ code: 'custom', path: [variable], message });
  if (config.KAFKA_SASL_MECHANISM) {
    for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[variable] === undefined) issue(variable, `is required with KAFKA_SASL_MECHANISM`);
    }
  } else if (config.KAFKA_SASL_USERNAME !== undefined || config.KAFKA_SASL_PASSWORD !== undefined) {
    issue(
      'KAFKA_SASL_MECHANISM',
      `is required with KAFKA_SASL_USERNAME/PASSWORD: one of ${SASL_MECHANISMS.join(', ')}`,
    );
  }
  const files = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const;
  const given = files.filter((variable) => config[variable] !== undefined);
  if (!config.KAFKA_SSL && given.length > 0) issue('KAFKA_SSL', `must be true when ${given.join(', ')} is set`);
  if ((config.KAFKA_SSL_CERT_FILE === undefined) !== (config.KAFKA_SSL_KEY_FILE === undefined)) {
    const [missing, other] =
      config.KAFKA_SSL_KEY_FILE === undefined
        ? ['KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE']
        : ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'];
    issue(missing, `is required with ${other}`);
  }
}
