// The whole stack without Docker, on the contract's ports (DESIGN.md), from local binaries and
// the config files compose uses: Kafka (scripts/kafka), Jaeger (observability/jaeger), the
// producer and the consumer with the telemetry bootstrap. State and logs in .cache/stack/.
import path from 'node:path';
import { attachKafkaCluster, startKafkaCluster } from '../kafka/cluster';
import { JAEGER_PORTS, startJaeger, type JaegerPorts } from '../jaeger/jaeger';
import { daemonPid, startDaemon, stopDaemon, waitUntilAnswering } from './daemon';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const STACK_DIR = path.join(REPO_ROOT, '.cache', 'stack');
const READY_TIMEOUT_MS = 90_000;

/** Where the stack runs: the contract's ports by default; the stack's own test moves them. */
export interface StackLayout {
  /** Pid and log files of Jaeger and the services. */
  dir: string;
  /** The local Kafka instance (scripts/kafka); 'default' is the one `kafka:up` starts. */
  kafkaInstance: string;
  kafkaPort: number;
  jaeger: JaegerPorts;
  producerPort: number;
  consumerPort: number;
}

export function defaultLayout(env: NodeJS.ProcessEnv = process.env): StackLayout {
  return {
    dir: STACK_DIR,
    kafkaInstance: 'default',
    kafkaPort: 9092,
    jaeger: JAEGER_PORTS,
    producerPort: Number(env.PORT ?? 8080),
    consumerPort: Number(env.METRICS_PORT ?? 9464),
  };
}

export interface Part {
  name: string;
  /** Where it answers, for people. */
  url: string;
  /** Starts it unless it runs already; resolves when it is ready. */
  up(): Promise<void>;
  down(): Promise<void>;
  running(): Promise<boolean>;
}

function service(name: 'producer' | 'consumer', port: number, dir: string, env: Record<string, string>): Part {
  const entry = path.join(REPO_ROOT, name, 'dist', 'main.js');
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    url,
    async up() {
      if (daemonPid(dir, name) !== undefined) return;
      const daemon = await startDaemon({
        dir,
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
      await waitUntilAnswering(dir, daemon, `${url}/health/ready`, READY_TIMEOUT_MS);
    },
    async down() {
      await stopDaemon(dir, name, { timeoutMs: 30_000 });
    },
    running: async () => daemonPid(dir, name) !== undefined,
  };
}

/**
 * The parts in start order. The services get the environment of the command (LOG_LEVEL,
 * HANDLER_MODULE, ...) with the stack's addresses over it.
 */
export function stackParts(layout: StackLayout = defaultLayout()): Part[] {
  const { dir, kafkaInstance, kafkaPort, jaeger } = layout;
  const brokers = `localhost:${kafkaPort}`;
  const shared = { KAFKA_BROKERS: brokers, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${jaeger.otlpHttp}` };
  return [
    {
      name: 'kafka',
      url: brokers,
      async up() {
        await startKafkaCluster({ name: kafkaInstance, brokerPort: kafkaPort, fresh: false });
      },
      async down() {
        await (await attachKafkaCluster(kafkaInstance))?.stop();
      },
      async running() {
        return (await attachKafkaCluster(kafkaInstance))?.nodePid(0) !== undefined;
      },
    },
    {
      name: 'jaeger',
      url: `http://127.0.0.1:${jaeger.query}`,
      async up() {
        if (daemonPid(dir, 'jaeger') === undefined) await startJaeger({ dir, ports: jaeger });
      },
      async down() {
        await stopDaemon(dir, 'jaeger', { timeoutMs: 10_000 });
      },
      running: async () => daemonPid(dir, 'jaeger') !== undefined,
    },
    service('producer', layout.producerPort, dir, { ...shared, PORT: String(layout.producerPort) }),
    service('consumer', layout.consumerPort, dir, { ...shared, METRICS_PORT: String(layout.consumerPort) }),
  ];
}

/** Starts what is not running, in order, each ready before the next. */
export async function stackUp(
  parts: Part[],
  onReady: (part: Part, ms: number) => void = () => undefined,
): Promise<void> {
  for (const part of parts) {
    const started = Date.now();
    await part.up();
    onReady(part, Date.now() - started);
  }
}

/** Stops every part, services first (they drain), Kafka last with its data kept. */
export async function stackDown(parts: Part[], onStopped: (part: Part) => void = () => undefined): Promise<void> {
  for (const part of [...parts].reverse()) {
    await part.down();
    onStopped(part);
  }
}
