import type { Kafka } from 'kafkajs';
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

/**
 * How both services put their topics in place at start-up: connect an admin client (retrying
 * with backoff until `signal` aborts, or Kafka refuses for good), create the missing topics,
 * log the ones created, disconnect. Existing topics stay as they are. Returns the topics created.
 */
export async function provisionTopics(
  kafka: Kafka,
  specs: TopicSpec[],
  { logger, signal }: { logger: Logger; signal?: AbortSignal | undefined },
): Promise<string[]> {
  const admin = kafka.admin();
  // Across attempts: one can create a topic and then fail (waiting for its leaders), and the
  // next then finds it in place.
  const created = new Set<string>();
  try {
    await connectWithRetry(
      async () => {
        await admin.connect();
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length === 0) return;
        for (const spec of missing) created.add(spec.topic);
        // KafkaJS answers "already exists" (another instance won the race) with false, not an error.
        await admin.createTopics({ topics: missing, waitForLeaders: true });
      },
      { logger, what: 'kafka admin', ...(signal ? { signal } : {}) },
    );
    if (created.size > 0) logger.info({ created: [...created] }, 'topics created');
    return [...created];
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
