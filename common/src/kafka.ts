import { readFileSync } from 'node:fs';
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type KafkaConfig,
  type LogEntry,
  type RetryOptions,
  type SASLOptions,
} from 'kafkajs';
import type { KafkaSecurityConfig } from './config';
import type { Logger } from './logger';

/** The Kafka settings every service reads (see kafkaConfigSchema). */
export interface KafkaClientConfig extends KafkaSecurityConfig {
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID?: string | undefined;
  KAFKA_CONNECTION_TIMEOUT_MS: number;
  KAFKA_REQUEST_TIMEOUT_MS: number;
  KAFKA_SSL_REJECT_UNAUTHORIZED?: boolean | undefined;
}

/**
 * KafkaJS's own retries, by the client that makes them: each client is given one of these and no
 * other. KafkaJS backs off from `initialRetryTime` towards `maxRetryTime` and gives up after
 * `retries` (the error then says whether our own retry rule, common/src/retriable.ts, tries again).
 */
export const KAFKA_RETRIES = {
  /**
   * The writers' idempotent producer: never gives up on a batch by itself, as Kafka's own
   * client does not; the caller bounds its wait (PRODUCE_TIMEOUT_MS, DEAD_LETTER_TIMEOUT_MS). The
   * short maximum backoff lets sends resume within a couple of seconds after an outage.
   */
  producer: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
  /** The writers' partition lookups: one quick retry; a send waits on them, and its caller retries. */
  partitionLookup: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
  /**
   * The consumer group: rides out a broker restart or a leader election (about a minute of
   * backoffs) before the client crashes and restarts itself.
   */
  groupConsumer: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  /** The `dlq` command's reads and redrive: an operator waits at the terminal, so it fails sooner. */
  dlqCommand: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
} as const satisfies Record<string, RetryOptions>;

/** KafkaJS's `sasl` and `ssl` options from the settings; the files are read here, once. */
export function kafkaSecurityOptions(config: KafkaClientConfig): Pick<KafkaConfig, 'sasl' | 'ssl'> {
  const options: Pick<KafkaConfig, 'sasl' | 'ssl'> = {};
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  if (mechanism && username !== undefined && password !== undefined) {
    options.sasl = { mechanism, username, password } as SASLOptions;
  }
  if (config.KAFKA_SSL) {
    const read = (file: string | undefined): Buffer | undefined =>
      file === undefined ? undefined : readFileSync(file);
    const [ca, cert, key] = [config.KAFKA_SSL_CA_FILE, config.KAFKA_SSL_CERT_FILE, config.KAFKA_SSL_KEY_FILE].map(read);
    options.ssl = {
      rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED ?? true,
      ...(ca ? { ca: [ca] } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
  }
  return options;
}

const toPinoLevel: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

function kafkaLogLevel(logger: Logger): KafkaLogLevel {
  switch (logger.level) {
    case 'debug':
    case 'trace':
      return KafkaLogLevel.DEBUG;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'silent':
      return KafkaLogLevel.NOTHING;
    default:
      return KafkaLogLevel.ERROR;
  }
}

/** A KafkaJS client configured from the service's settings, logging through our logger as structured fields. */
export function createKafkaClient(config: KafkaClientConfig, service: string, logger: Logger): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const security = kafkaSecurityOptions(config);
  if (security.sasl?.mechanism === 'plain' && !security.ssl) {
    logger.warn('SASL PLAIN without KAFKA_SSL sends the Kafka password in clear text');
  }
  if (security.ssl && config.KAFKA_SSL_REJECT_UNAUTHORIZED === false) {
    logger.warn("KAFKA_SSL_REJECT_UNAUTHORIZED=false: the brokers' identity is not checked");
  }
  return new Kafka({
    ...security,
    clientId: config.KAFKA_CLIENT_ID ?? service,
    brokers: config.KAFKA_BROKERS,
    connectionTimeout: config.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: config.KAFKA_REQUEST_TIMEOUT_MS,
    logLevel: kafkaLogLevel(logger),
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
        kafkaLogger[toPinoLevel[level] ?? 'info']({ namespace, ...fields }, message);
      },
  });
}
