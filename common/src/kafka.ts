import { Kafka, logLevel as KafkaLogLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Logger } from './logger';

/** The Kafka settings every service reads (see kafkaConfigSchema). */
export interface KafkaClientConfig {
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID?: string | undefined;
  KAFKA_CONNECTION_TIMEOUT_MS: number;
  KAFKA_REQUEST_TIMEOUT_MS: number;
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
  return new Kafka({
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
