import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
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
