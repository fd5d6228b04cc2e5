import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CloudEvent } from '@event-pipeline/common';
import type { EventHandler } from '../../../consumer/src/handler';
import { handlerModule } from '../../support/handlers';
import { groupProgress, readTopic, uniqueName, withAdmin } from '../../support/kafka';
import { startConsumer, startProducer } from '../../support/pipeline';
import { spawnConsumer, spawnProducer, type ServiceProcess } from '../../support/processes';
import { waitFor } from '../../support/wait';
import type { Ledger } from './ledger';
import { startLoad, type Load, type LoadOptions } from './load';

/** Topic settings every scenario uses: replicated on all three brokers. */
export const TOPIC_ENV = { TOPIC_PARTITIONS: '6', TOPIC_REPLICATION_FACTOR: '3' };

/** Consumer settings that notice a dead member in seconds (6 s is the brokers' least session timeout). */
export const FAST_GROUP_ENV = { SESSION_TIMEOUT_MS: '6000', HEARTBEAT_INTERVAL_MS: '500' };

export interface ScenarioNames {
  topic: string;
  dlq: string;
  group: string;
}

export function scenarioNames(prefix: string): ScenarioNames {
  const topic = uniqueName(prefix);
  return { topic, dlq: `${topic}.dlq`, group: uniqueName(`${prefix}-processor`) };
}

/** The producer service in this process, on the reliability cluster. */
export function startScenarioProducer(
  brokers: string[],
  names: ScenarioNames,
  env: Record<string, string> = {},
): ReturnType<typeof startProducer> {
  return startProducer({ EVENTS_TOPIC: names.topic, ...TOPIC_ENV, ...env }, brokers);
}

/** The consumer service in this process; its handler writes every processed id into the ledger. */
export function startScenarioConsumer(
  brokers: string[],
  names: ScenarioNames,
  ledger: Ledger,
  { env = {}, handle }: { env?: Record<string, string>; handle?: EventHandler['handle'] } = {},
): ReturnType<typeof startConsumer> {
  return startConsumer(
    {
      EVENTS_TOPIC: names.topic,
      DLQ_TOPIC: names.dlq,
      CONSUMER_GROUP: names.group,
      ...TOPIC_ENV,
      ...FAST_GROUP_ENV,
      ...env,
    },
    {
      async handle(event: CloudEvent, context) {
        await handle?.(event, context);
        ledger.process(event.id);
      },
    },
    brokers,
  );
}

export interface ScenarioPipeline {
  producer: Awaited<ReturnType<typeof startProducer>>;
  consumer: Awaited<ReturnType<typeof startConsumer>>;
  load: Load;
  /** Stops the load, then both services. */
  stop(): Promise<void>;
}

/**
 * What most scenarios run: the producer and the consumer in this process (as
 * startScenarioProducer and startScenarioConsumer start them) and the steady load against the
 * producer; `stop` ends all three, whatever the scenario did to them.
 */
export async function startScenarioPipeline(
  brokers: string[],
  names: ScenarioNames,
  ledger: Ledger,
  {
    producerEnv,
    consumer: consumerOptions,
    load: loadOptions,
  }: {
    producerEnv?: Record<string, string>;
    consumer?: Parameters<typeof startScenarioConsumer>[3];
    load: Omit<LoadOptions, 'url' | 'ledger'>;
  },
): Promise<ScenarioPipeline> {
  const producer = await startScenarioProducer(brokers, names, producerEnv);
  const consumer = await startScenarioConsumer(brokers, names, ledger, consumerOptions).catch(
    async (error: unknown) => {
      await producer.stop();
      throw error;
    },
  );
  const load = startLoad({ url: producer.url, ledger, ...loadOptions });
  return {
    producer,
    consumer,
    load,
    async stop() {
      await load.stop();
      await Promise.allSettled([producer.stop(), consumer.stop()]);
    },
  };
}

/** The producer service as a process (where a scenario signals it or measures its memory), on the reliability cluster. */
export function spawnScenarioProducer(
  brokers: string[],
  names: ScenarioNames,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  return spawnProducer(names.topic, { ...TOPIC_ENV, ...env }, { brokers });
}

/**
 * The consumer service as a process (where a scenario kills it), on the reliability cluster; its
 * handler is a module (HANDLER_MODULE in `env`, as processedFileHandler gives it).
 */
export function spawnScenarioConsumer(
  brokers: string[],
  names: ScenarioNames,
  env: Record<string, string>,
  { port }: { port?: number } = {},
): Promise<ServiceProcess> {
  return spawnConsumer(names, { ...TOPIC_ENV, ...FAST_GROUP_ENV, ...env }, { brokers, port });
}

/**
 * The settings of a consumer process whose handler (test/support/handlers/processed-file.cjs)
 * appends each event id to a file of its own, synchronously, before the worker commits, so a
 * SIGKILL cannot lose the record of an event it processed; and the ids in that file.
 */
export function processedFileHandler({ delayMs = 0 } = {}): {
  env: Record<string, string>;
  processedIds: () => string[];
} {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reliability-handler-')), 'processed.txt');
  writeFileSync(file, '');
  return {
    env: {
      HANDLER_MODULE: handlerModule('processed-file'),
      PROCESSED_FILE: file,
      ...(delayMs > 0 ? { DELAY_MS: String(delayMs) } : {}),
    },
    processedIds: () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.length > 0),
  };
}

/** The broker (node index, from 0) leading partition `partition` of `topic`. */
export async function leaderNode(topic: string, brokers: string[], partition = 0): Promise<number> {
  const leader = await withAdmin(async (admin) => {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]?.partitions.find((each) => each.partitionId === partition)?.leader;
  }, brokers);
  if (leader === undefined || leader < 1) throw new Error(`partition ${partition} of ${topic} has no leader`);
  return leader - 1;
}

/**
 * Waits until every accepted event was processed. When some never are, it says where they
 * are: on the topic (at which offset, and how far the group committed) or not on it at all, a
 * 2xx for an event Kafka does not hold.
 */
export async function awaitAllProcessed(
  ledger: Ledger,
  names: ScenarioNames,
  brokers: string[],
  { timeoutMs = 90_000, refresh }: { timeoutMs?: number; refresh?: () => void } = {},
): Promise<void> {
  try {
    await waitFor(
      'every accepted event processed',
      () => {
        refresh?.();
        return ledger.allProcessed();
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (error) {
    const missing = ledger.missing();
    const records = await readTopic(names.topic, brokers);
    const byId = new Map(records.map((record) => [record.headers.ce_id, record]));
    const progress = await groupProgress(names.group, names.topic, brokers);
    const onTopic = missing
      .filter((id) => byId.has(id))
      .map((id) => `${id}@${byId.get(id)!.partition}:${byId.get(id)!.offset}`);
    const notOnTopic = missing.filter((id) => !byId.has(id));
    throw new Error(
      `${(error as Error).message}: ${missing.length} accepted events unprocessed; ` +
        `on the topic: ${onTopic.slice(0, 10).join(', ') || 'none'}; ` +
        `NOT on the topic: ${notOnTopic.slice(0, 10).join(', ') || 'none'}; ` +
        `group progress ${JSON.stringify(progress)}`,
      { cause: error },
    );
  }
}

/**
 * Waits until every accepted event of `ids` (those the ledger still misses) has its dead letter
 * on the scenario's dead-letter topic; answers each dead letter's headers by event id. A dead
 * letter is how such an event counts as processed: the caller tells the ledger.
 */
export async function awaitDeadLetters(
  what: string,
  ids: ReadonlySet<string>,
  ledger: Ledger,
  names: ScenarioNames,
  brokers: string[],
  { timeoutMs = 90_000 }: { timeoutMs?: number } = {},
): Promise<Map<string, Record<string, string>>> {
  const deadLettered = new Map<string, Record<string, string>>();
  await waitFor(
    what,
    async () => {
      for (const record of await readTopic(names.dlq, brokers)) {
        const id = record.headers.ce_id!;
        if (!deadLettered.has(id)) deadLettered.set(id, record.headers);
      }
      const accepted = [...ids].filter((id) => ledger.missing().includes(id));
      return accepted.every((id) => deadLettered.has(id));
    },
    { timeoutMs, intervalMs: 1000 },
  );
  return deadLettered;
}
