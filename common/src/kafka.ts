import { readFileSync } from 'node:fs';
import {
  Kafka,
  Partitioners,
  type Producer,
  type ProducerRecord,
  type RecordMetadata,
  logLevel as KafkaLogLevel,
  type Admin,
  type KafkaConfig,
  type LogEntry,
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

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** -1 takes the broker's default.replication.factor. */
  replicationFactor: number;
}

/** Creates the topics that are missing; leaves existing ones as they are. Returns the ones created. */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
  // KafkaJS answers "already exists" (another instance won the race) with false, not an error.
  await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((spec) => spec.topic);
}

/** What the services need of an idempotent KafkaJS producer. */
export interface IdempotentProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
}

/**
 * An idempotent producer for acks=all sends that keeps retrying a batch, as Kafka's own client
 * does: the caller bounds what it waits (PRODUCE_TIMEOUT_MS, DEAD_LETTER_TIMEOUT_MS). A short
 * maximum backoff makes sends resume within a couple of seconds after an outage.
 *
 * After a failed send, the next one goes out under a new KafkaJS producer, so a new producer id
 * (where Kafka's Java client bumps its epoch). KafkaJS takes back the sequence numbers of a send
 * that failed, though a broker may have written it (the connection dropped before the answer);
 * a later batch reusing them is then taken by the broker for a duplicate: acknowledged, not
 * written. The reliability suite lost accepted events that way when every broker died and came
 * back. Concurrent sends after a failure share one replacement.
 */
export function createIdempotentProducer(
  kafka: Kafka,
  { onRenewed }: { onRenewed?: () => void } = {},
): IdempotentProducer {
  const create = (): Producer =>
    kafka.producer({
      idempotent: true,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer = create();
  let sequencesUncertain = false;
  let renewing: Promise<void> | undefined;
  const renew = async (): Promise<void> => {
    const previous = producer;
    producer = create();
    sequencesUncertain = false;
    await previous.disconnect().catch(() => undefined);
    await producer.connect();
    onRenewed?.();
  };
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(record) {
      if (sequencesUncertain) await (renewing ??= renew().finally(() => (renewing = undefined)));
      else if (renewing) await renewing;
      try {
        return await producer.send(record);
      } catch (error) {
        sequencesUncertain = true;
        throw error;
      }
    },
  };
}
