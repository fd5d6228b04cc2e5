// The whole stack without Docker, on the contract's ports (DESIGN.md), from local binaries and
// the config files compose uses: Kafka (scripts/kafka), Jaeger (observability/jaeger), the
// producer and the consumer with the telemetry bootstrap. State and logs in .cache/stack/.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachKafkaCluster, startKafkaCluster } from '../kafka/cluster';
import { JAEGER_PORTS, startJaeger } from '../jaeger/jaeger';
import { daemonPid, logTail, startDaemon, stopDaemon } from './daemon';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const STACK_DIR = path.join(REPO_ROOT, '.cache', 'stack');
const KAFKA_INSTANCE = 'default';
const KAFKA_PORT = 9092;
const READY_TIMEOUT_MS = 90_000;

export interface Part {
  name: string;
  /** Where it answers, for people. */
  url: string;
  /** Starts it unless it runs already; resolves when it is ready. */
  up(): Promise<void>;
  down(): Promise<void>;
  running(): Promise<boolean>;
}

function service(
  name: 'producer' | 'consumer',
  port: number,
  env: Record<string, string>,
): Part & { env: Record<string, string> } {
  const entry = path.join(REPO_ROOT, name, 'dist', 'main.js');
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    url,
    env,
    async up() {
      if (daemonPid(STACK_DIR, name) !== undefined) return;
      const daemon = await startDaemon({
        dir: STACK_DIR,
        name,
        command: process.execPath,
        args: [
          '--require',
          '@event-pipeline/observability/register',
          '--disable-warning=TimeoutNegativeWarning',
          entry,
        ],
        cwd: path.join(REPO_ROOT, name),
        env,
      });
      await waitUntilReady(name, `${url}/health/ready`, () => daemonPid(STACK_DIR, name) !== undefined, daemon);
    },
    async down() {
      await stopDaemon(STACK_DIR, name, { timeoutMs: 30_000 });
    },
    running: async () => daemonPid(STACK_DIR, name) !== undefined,
  };
}

async function waitUntilReady(
  name: string,
  url: string,
  alive: () => boolean,
  daemon: { logFile: string },
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (!alive()) throw new Error(`${name} exited while starting:\n${logTail(daemon)}`);
    if (Date.now() > deadline)
      throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS} ms:\n${logTail(daemon)}`);
    await sleep(250);
  }
}

/** The parts in start order; the environment (PORT, LOG_LEVEL, HANDLER_MODULE, ...) passes through. */
export function stackParts(env: NodeJS.ProcessEnv = process.env): Part[] {
  const brokers = `localhost:${KAFKA_PORT}`;
  const otlp = `http://127.0.0.1:${JAEGER_PORTS.otlpHttp}`;
  const producerPort = Number(env.PORT ?? 8080);
  const consumerPort = Number(env.METRICS_PORT ?? 9464);
  const shared = { KAFKA_BROKERS: brokers, OTEL_EXPORTER_OTLP_ENDPOINT: otlp };
  return [
    {
      name: 'kafka',
      url: brokers,
      async up() {
        await startKafkaCluster({ name: KAFKA_INSTANCE, brokerPort: KAFKA_PORT, fresh: false });
      },
      async down() {
        await (await attachKafkaCluster(KAFKA_INSTANCE))?.stop();
      },
      async running() {
        const cluster = await attachKafkaCluster(KAFKA_INSTANCE);
        return cluster?.nodePid(0) !== undefined;
      },
    },
    {
      name: 'jaeger',
      url: `http://127.0.0.1:${JAEGER_PORTS.query}`,
      async up() {
        if (daemonPid(STACK_DIR, 'jaeger') === undefined) await startJaeger({ dir: STACK_DIR });
      },
      async down() {
        await stopDaemon(STACK_DIR, 'jaeger', { timeoutMs: 10_000 });
      },
      running: async () => daemonPid(STACK_DIR, 'jaeger') !== undefined,
    },
    service('producer', producerPort, { ...shared, PORT: String(producerPort) }),
    service('consumer', consumerPort, { ...shared, METRICS_PORT: String(consumerPort) }),
  ];
}
