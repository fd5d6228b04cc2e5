// The whole stack without Docker, on the contract's ports (DESIGN.md), from local binaries and
// the config files compose uses: Kafka (scripts/kafka), Jaeger (observability/jaeger), the
// producer and the consumers with the telemetry bootstrap, kafka-exporter
// (observability/kafka-exporter), Alertmanager, the Pushgateway and Prometheus
// (observability/alertmanager, observability/prometheus; built from the Go module proxy). State
// and logs in .cache/stack/.
import { readdirSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attachKafkaCluster, startKafkaCluster } from '../kafka/cluster';
import { JAEGER_CONFIG, JAEGER_PORTS, startJaeger, type JaegerPorts } from '../jaeger/jaeger';
import { pushSchemas, readSubjects } from '../../producer/src/schemas-registration';
import { SchemaRegistryClient } from '../../common/src/schema-registry';
import { registryArgs, ensureApicurio, registryJavaHome, CCOMPAT_PATH } from '../registry/registry';
import { ensureGoTool, GO_TOOLS, uiPlaceholder } from '../tools/go-tools';
import { assertPortFree, daemonPid, startDaemon, stopDaemon, waitUntilAnswering } from './daemon';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const STACK_DIR = path.join(REPO_ROOT, '.cache', 'stack');

/** The config files compose mounts too, relative to the repository root. */
const CONFIG = {
  kafkaExporter: 'observability/kafka-exporter/config.yaml',
  alertmanager: 'observability/alertmanager/alertmanager.yml',
  prometheus: 'observability/prometheus/prometheus.yml',
  prometheusRules: 'observability/prometheus/rules',
};
const inRepo = (file: string): string => path.join(REPO_ROOT, file);

/** Flags beyond config and storage paths and the listen address; compose passes the same. */
export const PROMETHEUS_FLAGS = ['--enable-feature=exemplar-storage', '--web.enable-lifecycle'];
// One instance: no gossip port (9094) to open.
export const ALERTMANAGER_FLAGS = ['--cluster.listen-address='];
const READY_TIMEOUT_MS = 90_000;

/** Where the stack runs: the contract's ports by default; the stack's own test moves them. */
export interface StackLayout {
  /** Pid and log files of everything but Kafka, and the state of Prometheus and Alertmanager. */
  dir: string;
  /** The local Kafka instance (scripts/kafka); 'default' is the one `kafka:up` starts. */
  kafkaInstance: string;
  kafkaPort: number;
  jaeger: JaegerPorts;
  producerPort: number;
  /** The first consumer's; the others take the ports above it. */
  consumerPort: number;
  /** How many consumer processes, one group. */
  consumers: number;
  kafkaExporterPort: number;
  alertmanagerPort: number;
  /** Where `dlq redrive` pushes its counts. */
  pushgatewayPort: number;
  prometheusPort: number;
  /** Apicurio's Confluent API; its management port (health, metrics) is the second. */
  schemaRegistryPort: number;
  schemaRegistryManagementPort: number;
}

export function defaultLayout(env: NodeJS.ProcessEnv = process.env): StackLayout {
  return {
    dir: STACK_DIR,
    kafkaInstance: 'default',
    kafkaPort: 9092,
    jaeger: JAEGER_PORTS,
    producerPort: Number(env.PORT ?? 8080),
    consumerPort: Number(env.METRICS_PORT ?? 9464),
    consumers: 1,
    kafkaExporterPort: 9308,
    alertmanagerPort: 9093,
    pushgatewayPort: 9091,
    prometheusPort: 9090,
    schemaRegistryPort: 8081,
    schemaRegistryManagementPort: 9081,
  };
}

/** The consumers' names: consumer, consumer-2, consumer-3, ... */
function consumerName(index: number): string {
  return index === 0 ? 'consumer' : `consumer-${index + 1}`;
}

export interface Part {
  name: string;
  /** Where it answers, for people. */
  url: string;
  /** Every port it listens on; the first is the one `url` names. */
  ports: number[];
  /** The repository's files it runs with (relative to the repository root), as compose mounts them. */
  configFiles: string[];
  /** Starts it unless it runs already; resolves when it is ready. */
  up(): Promise<void>;
  down(): Promise<void>;
  running(): Promise<boolean>;
}

/** What starts a part's program. */
interface Launch {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** A program run as a daemon in `dir`, ready when `readyPath` answers on `port`. */
function daemonPart(
  dir: string,
  name: string,
  port: number,
  readyPath: string,
  launch: () => Promise<Launch>,
  { stopTimeoutMs = 15_000, configFiles = [] }: { stopTimeoutMs?: number; configFiles?: string[] } = {},
): Part {
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    url,
    ports: [port],
    configFiles,
    async up() {
      if (daemonPid(dir, name) !== undefined) return;
      await assertPortFree(port, name);
      const daemon = await startDaemon({ dir, name, ...(await launch()) });
      await waitUntilAnswering(dir, daemon, `${url}${readyPath}`, READY_TIMEOUT_MS);
    },
    async down() {
      await stopDaemon(dir, name, { timeoutMs: stopTimeoutMs });
    },
    running: async () => daemonPid(dir, name) !== undefined,
  };
}

/** One of our services, built, with the telemetry bootstrap; ready when it says so. Its drain may take a while. */
function service(
  name: string,
  program: 'producer' | 'consumer',
  port: number,
  dir: string,
  env: Record<string, string>,
): Part {
  const launch = async (): Promise<Launch> => ({
    command: process.execPath,
    args: [
      '--require',
      '@event-pipeline/observability/register',
      '--disable-warning=TimeoutNegativeWarning',
      path.join(REPO_ROOT, program, 'dist', 'main.js'),
    ],
    cwd: path.join(REPO_ROOT, program),
    env,
  });
  return daemonPart(dir, name, port, '/health/ready', launch, { stopTimeoutMs: 30_000 });
}

/** Where each scrape job of observability/prometheus/prometheus.yml finds its processes: local ports. */
export type ScrapeTargets = Partial<
  Record<
    'producer' | 'consumer' | 'kafka-exporter' | 'prometheus' | 'alertmanager' | 'pushgateway' | 'jaeger',
    number[]
  >
>;

/**
 * Points scrape jobs at local ports: the target files (targets/<job>.json) beside the link to
 * the config in <dir>/prometheus/. Prometheus watches them, so this works while it runs.
 */
export async function writeScrapeTargets(dir: string, targets: ScrapeTargets): Promise<void> {
  const home = path.join(dir, 'prometheus', 'targets');
  await mkdir(home, { recursive: true });
  for (const [job, ports] of Object.entries(targets)) {
    const file = path.join(home, `${job}.json`);
    // Written aside and renamed: Prometheus must never read half of a file.
    await writeFile(`${file}.tmp`, `${JSON.stringify([{ targets: ports.map((port) => `127.0.0.1:${port}`) }])}\n`);
    await rename(`${file}.tmp`, file);
  }
}

/** kafka-exporter on `brokers` (comma-separated), with observability/kafka-exporter/config.yaml. */
export function kafkaExporterPart(dir: string, brokers: string, port: number): Part {
  return daemonPart(
    dir,
    'kafka-exporter',
    port,
    '/metrics',
    async () => ({
      command: await ensureGoTool('kafka-exporter'),
      args: ['--config', inRepo(CONFIG.kafkaExporter)],
      env: { KAFKA_BROKERS: brokers, KAFKA_EXPORTER_ADDRESS: `127.0.0.1:${port}` },
    }),
    { configFiles: [CONFIG.kafkaExporter] },
  );
}

/**
 * Prometheus runs observability/prometheus/prometheus.yml through a symlink in <dir>/prometheus/,
 * so that the file's relative paths find the rules beside the original (rules/) and the target
 * files written beside the link (`writeScrapeTargets`). `targets` are written at every `up`.
 */
export function prometheusPart(dir: string, port: number, targets: () => ScrapeTargets): Part {
  const home = path.join(dir, 'prometheus');
  // Built without its web UI's assets, Prometheus reads the UI's page from static/mantine-ui/
  // under its working directory (unless that is named prometheus, web or ui): a placeholder
  // there instead of an error page.
  const web = path.join(home, 'placeholder-ui');
  const part = daemonPart(
    dir,
    'prometheus',
    port,
    '/-/ready',
    async () => {
      return {
        cwd: web,
        command: await ensureGoTool('prometheus'),
        args: [
          `--config.file=${path.join(home, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(home, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          ...PROMETHEUS_FLAGS,
        ],
      };
    },
    { configFiles: [CONFIG.prometheus, CONFIG.prometheusRules] },
  );
  return {
    ...part,
    async up() {
      await mkdir(home, { recursive: true });
      for (const file of [CONFIG.prometheus, CONFIG.prometheusRules]) {
        const link = path.join(home, path.basename(file));
        await rm(link, { force: true, recursive: false });
        await symlink(inRepo(file), link);
      }
      await writeScrapeTargets(dir, targets());
      await mkdir(path.join(web, 'static', 'mantine-ui'), { recursive: true });
      await writeFile(
        path.join(web, 'static', 'mantine-ui', 'index.html'),
        uiPlaceholder('prometheus', GO_TOOLS.prometheus.version),
      );
      await part.up();
    },
  };
}

/**
 * The parts in start order. The services get the environment of the command (LOG_LEVEL,
 * HANDLER_MODULE, ...) with the stack's addresses over it.
 */
export function stackParts(layout: StackLayout = defaultLayout()): Part[] {
  const { dir, kafkaInstance, kafkaPort, jaeger } = layout;
  const brokers = `localhost:${kafkaPort}`;
  const schemaRegistryUrl = `http://127.0.0.1:${layout.schemaRegistryPort}${CCOMPAT_PATH}`;
  const shared = {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${jaeger.otlpHttp}`,
    SCHEMA_REGISTRY_URL: schemaRegistryUrl,
  };
  const registry = daemonPart(
    dir,
    'schema-registry',
    layout.schemaRegistryPort,
    `${CCOMPAT_PATH}/subjects`,
    async () => {
      const [appDir, javaHome] = await Promise.all([ensureApicurio(), registryJavaHome()]);
      return {
        command: path.join(javaHome, 'bin', 'java'),
        // KafkaSQL on the stack's Kafka: the schemas stay in its journal topic across restarts.
        args: registryArgs({
          dir,
          port: layout.schemaRegistryPort,
          managementPort: layout.schemaRegistryManagementPort,
          storage: { kind: 'kafkasql', bootstrapServers: brokers, topic: 'kafkasql-journal' },
        }),
        env: { JAVA_HOME: javaHome },
        cwd: appDir,
      };
    },
    { stopTimeoutMs: 15_000 },
  );
  const consumers = Array.from({ length: layout.consumers }, (_, index) =>
    service(consumerName(index), 'consumer', layout.consumerPort + index, dir, {
      ...shared,
      METRICS_PORT: String(layout.consumerPort + index),
    }),
  );
  // The target files follow the layout on every `up`, also while Prometheus runs.
  const prometheus = prometheusPart(dir, layout.prometheusPort, () => ({
    producer: [layout.producerPort],
    consumer: consumers.map((part) => part.ports[0]!),
    'kafka-exporter': [layout.kafkaExporterPort],
    prometheus: [layout.prometheusPort],
    alertmanager: [layout.alertmanagerPort],
    pushgateway: [layout.pushgatewayPort],
    jaeger: [jaeger.metrics],
  }));
  return [
    {
      name: 'kafka',
      url: brokers,
      ports: [kafkaPort],
      configFiles: [],
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
      ports: [jaeger.query, jaeger.otlpGrpc, jaeger.otlpHttp, jaeger.queryGrpc, jaeger.health, jaeger.metrics],
      configFiles: [path.relative(REPO_ROOT, JAEGER_CONFIG)],
      async up() {
        if (daemonPid(dir, 'jaeger') !== undefined) return;
        await assertPortFree(jaeger.query, 'jaeger');
        await startJaeger({ dir, ports: jaeger });
      },
      async down() {
        await stopDaemon(dir, 'jaeger', { timeoutMs: 10_000 });
      },
      running: async () => daemonPid(dir, 'jaeger') !== undefined,
    },
    {
      ...registry,
      ports: [layout.schemaRegistryPort, layout.schemaRegistryManagementPort],
      // Ready with the repository's schemas pushed, as compose's schemas-push leaves it.
      async up() {
        await registry.up();
        const client = new SchemaRegistryClient({ url: schemaRegistryUrl, timeoutMs: 10_000 });
        await pushSchemas(client, readSubjects(inRepo('schemas')), () => undefined);
      },
    },
    service('producer', 'producer', layout.producerPort, dir, { ...shared, PORT: String(layout.producerPort) }),
    ...consumers,
    kafkaExporterPart(dir, brokers, layout.kafkaExporterPort),
    daemonPart(
      dir,
      'alertmanager',
      layout.alertmanagerPort,
      '/-/ready',
      async () => {
        return {
          command: await ensureGoTool('alertmanager'),
          args: [
            `--config.file=${inRepo(CONFIG.alertmanager)}`,
            `--storage.path=${path.join(dir, 'alertmanager')}`,
            `--web.listen-address=127.0.0.1:${layout.alertmanagerPort}`,
            ...ALERTMANAGER_FLAGS,
          ],
        };
      },
      { configFiles: [CONFIG.alertmanager] },
    ),
    daemonPart(dir, 'pushgateway', layout.pushgatewayPort, '/-/ready', async () => {
      return {
        command: await ensureGoTool('pushgateway'),
        args: [`--web.listen-address=127.0.0.1:${layout.pushgatewayPort}`],
      };
    }),
    prometheus,
  ];
}

/** Services of the stack's own still running that `parts` does not name (more consumers than asked for now). */
export function strayParts(layout: StackLayout, parts: Part[]): Part[] {
  const known = new Set(parts.map((part) => part.name));
  let files: string[];
  try {
    files = readdirSync(layout.dir);
  } catch {
    return [];
  }
  return files
    .map((file) => /^consumer-(\d+)\.pid$/.exec(file)?.[1])
    .filter((number): number is string => number !== undefined && !known.has(`consumer-${number}`))
    .map((number) =>
      // consumer-K listens K - 1 ports above the first (consumerName).
      service(`consumer-${number}`, 'consumer', layout.consumerPort + Number(number) - 1, layout.dir, {}),
    );
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
