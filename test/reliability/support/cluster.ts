import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachKafkaCluster, type KafkaCluster } from '../../../scripts/kafka/cluster';
import { testPort } from '../../support/kafka';

/** The suite's one cluster: three combined nodes, replication 3, min.insync.replicas 2. */
export const RELIABILITY_CLUSTER = 'reliability';
export const RELIABILITY_NODES = 3;
/** Brokers on base + 10500..10502, their controllers 1000 above. */
export const reliabilityBrokerPort = (): number => testPort(10_500);

/** Fence a dead or frozen broker in seconds rather than Kafka's default nine. */
export const RELIABILITY_BROKER_PROPS: Record<string, string> = {
  'min.insync.replicas': '2',
  'broker.session.timeout.ms': '3000',
  'broker.heartbeat.interval.ms': '500',
  'replica.lag.time.max.ms': '5000',
};

const ROOT = path.resolve(__dirname, '../../..');
export const RELIABILITY_CACHE = path.join(ROOT, '.cache', 'reliability');
const LOCK_DIR = path.join(RELIABILITY_CACHE, 'cluster.lock');

export function reliabilityBrokers(): string[] {
  const brokers = process.env.RELIABILITY_KAFKA_BROKERS;
  if (!brokers)
    throw new Error('no reliability cluster: run the reliability project through jest (its global setup starts one)');
  return brokers.split(',');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The scenarios kill, stop and freeze the shared cluster's brokers, so each holds it alone
 * while it runs: a lock directory that survives jest's workers and is taken over once its
 * holder's process is gone.
 */
async function lockCluster(): Promise<() => Promise<void>> {
  await mkdir(RELIABILITY_CACHE, { recursive: true });
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(path.join(LOCK_DIR, 'pid'), String(process.pid));
      return () => rm(LOCK_DIR, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(path.join(LOCK_DIR, 'pid'), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
        await rm(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      await sleep(250);
    }
  }
}

export interface ClusterLease {
  cluster: KafkaCluster;
  brokers: string[];
  /** Resumes frozen nodes, starts stopped ones, then lets the next scenario have the cluster. */
  release(): Promise<void>;
}

/** Takes the shared cluster for one scenario; `release` hands it back whole. */
export async function leaseCluster(): Promise<ClusterLease> {
  const unlock = await lockCluster();
  const cluster = await attachKafkaCluster(RELIABILITY_CLUSTER);
  if (!cluster) {
    await unlock();
    throw new Error(`Kafka instance '${RELIABILITY_CLUSTER}' is missing: run the reliability project through jest`);
  }
  await restoreCluster(cluster);
  return {
    cluster,
    brokers: reliabilityBrokers(),
    async release() {
      try {
        await restoreCluster(cluster);
      } finally {
        await unlock();
      }
    },
  };
}

async function restoreCluster(cluster: KafkaCluster): Promise<void> {
  for (let i = 0; i < RELIABILITY_NODES; i += 1) {
    if (cluster.nodePid(i) !== undefined) cluster.resumeNode(i);
  }
  await startRetryingPorts(() => cluster.start());
}

/**
 * Starts Kafka nodes, trying again while a port of theirs is held by someone else's outgoing
 * connection. The test ports lie in Linux's ephemeral range (32768-60999), so on a shared,
 * busy machine a connection of another program can hold a node's port for a moment, at the
 * suite's start and between a killed node and its restart alike.
 */
export async function startRetryingPorts<T>(
  start: () => Promise<T>,
  { attempts = 20, delayMs = 500 } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      const message = (error as Error).message ?? '';
      const portTaken = /is in use by another program|Address already in use|Unable to start acceptor/.test(message);
      if (!portTaken || attempt >= attempts) throw error;
      console.warn(
        `reliability: a Kafka port is held by another program, trying again (${attempt}): ${message.split('\n')[0]}`,
      );
      await sleep(delayMs);
    }
  }
}
