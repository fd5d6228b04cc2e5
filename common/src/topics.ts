import type { Admin, Kafka } from 'kafkajs';
import { connectWithRetry } from './lifecycle';
import type { Logger } from './logger';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** -1 takes the broker's default.replication.factor. */
  replicationFactor: number;
  /** Topic-level settings applied at creation only (`retention.ms`, ...); an existing topic keeps its own. */
  configEntries?: Array<{ name: string; value: string }>;
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

/**
 * How both services put their topics in place at start-up: connect an admin client (retrying
 * with backoff until `signal` aborts, or Kafka refuses for good), create the missing topics,
 * log the ones created, disconnect. Returns the topics created.
 */
export async function provisionTopics(
  kafka: Kafka,
  specs: TopicSpec[],
  { logger, signal }: { logger: Logger; signal?: AbortSignal | undefined },
): Promise<string[]> {
  const admin = kafka.admin();
  try {
    const created = await connectWithRetry(
      async () => {
        await admin.connect();
        return ensureTopics(admin, specs);
      },
      { logger, what: 'kafka admin', ...(signal ? { signal } : {}) },
    );
    if (created.length > 0) logger.info({ created }, 'topics created');
    return created;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
