// Our producer, two or more builds side by side on one Kafka: each round gives every build one
// closed-loop run of the same request, the order rotating, each run starting on a quiet machine,
// so that a busy moment of a shared machine weighs on all of them. For the findings' before/after
// figures of a change on the hot path: build the older tree elsewhere (`npm run build` there) and
// name its root. Telemetry off, one process each (PRODUCER_WORKERS=1) unless a build says else.
// With --schemas 1 the events are of a registered type, checked and encoded as Avro against a
// schema registry (Apicurio in memory, schemas/ pushed; SCHEMAS_REQUIRED=true), as in the bench's
// single-avro scenario.
// Run: BENCH_PORT_BASE=... bash scripts/with-node.sh tsx bench/producer-compare.ts <name>=<repo root>[,VAR=value...] ... [--rounds N] [--seconds N] [--events-per-request N] [--schemas 1]
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaCluster } from '../scripts/kafka/cluster';
import { stopRegistry } from '../scripts/registry/registry';
import { benchPorts, compareArgs, requestBody, schemaRequestBody } from './config';
import { autocannonRun, warmUp } from './load';
import { startBenchRegistry } from './registry';
import { settle, startChild, treeCpuMs, waitReady, type Child } from './processes';
import { perRoundRatio } from './stats';

const { builds, option } = compareArgs(process.argv.slice(2));
const rounds = option('rounds', 6);
const seconds = option('seconds', 3);
const eventsPerRequest = option('events-per-request', 1);
const schemas = option('schemas', 0) === 1;
const REGISTRY_DIR = path.join(__dirname, '..', '.cache', 'bench', 'compare-registry');
const connections = eventsPerRequest >= 100 ? 16 : 64;
const PARTITIONS = 6;

interface Run {
  eventsPerSecond: number;
  cpuMsPerEvent: number;
}

async function main(): Promise<void> {
  if (builds.length < 2) throw new Error('name at least two builds: <name>=<repo root> <name>=<repo root>');
  const ports = benchPorts();
  const cluster = await startKafkaCluster({ name: 'producer-compare', brokerPort: ports.kafka, fresh: true });
  const children: Child[] = [];
  let registryEnv: Record<string, string> = {};
  try {
    if (schemas) {
      const registry = await startBenchRegistry(REGISTRY_DIR, ports.registry, ports.registryManagement);
      registryEnv = { SCHEMA_REGISTRY_URL: registry.url, SCHEMAS_REQUIRED: 'true' };
    }
    const admin = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: builds.map(({ name }) => ({ topic: `compare-${name}`, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });
    await admin.disconnect();
    const body = schemas ? schemaRequestBody(eventsPerRequest) : requestBody(eventsPerRequest, 200);
    const running = [];
    for (const [index, build] of builds.entries()) {
      const port = ports.producer + 1000 + index;
      const child = startChild(
        `compare-producer-${build.name}`,
        process.execPath,
        ['--require', '@event-pipeline/observability/register', path.join(build.root, 'producer', 'dist', 'main.js')],
        {
          cwd: path.join(build.root, 'producer'),
          env: {
            OTEL_SDK_DISABLED: 'true',
            KAFKA_BROKERS: cluster.brokers.join(','),
            EVENTS_TOPIC: `compare-${build.name}`,
            TOPIC_PARTITIONS: String(PARTITIONS),
            LOG_LEVEL: 'warn',
            PORT: String(port),
            HOST: '127.0.0.1',
            PRODUCER_WORKERS: '1',
            ...registryEnv,
            ...build.env,
          },
        },
      );
      children.push(child);
      await waitReady(child, `http://127.0.0.1:${port}/health/ready`);
      const target = { url: `http://127.0.0.1:${port}/events`, headers: { 'content-type': 'application/json' }, body };
      running.push({ ...build, child, target, amount: 0, runs: [] as Run[] });
    }
    for (const each of running) {
      await settle();
      const pid = each.child.process.pid;
      each.amount = (await warmUp(each.target, connections, seconds, () => treeCpuMs(pid))).amount;
    }
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < running.length; turn++) {
        const each = running[(round + turn) % running.length]!;
        const pid = each.child.process.pid;
        await settle();
        const before = treeCpuMs(pid)!;
        const load = await autocannonRun(each.target, connections, each.amount);
        const after = treeCpuMs(pid)!;
        if (load.non2xx + load.errors > 0) {
          throw new Error(
            `${each.name}: ${load.non2xx} non-2xx answers and ${load.errors} errors in round ${round + 1}`,
          );
        }
        const events = load.ok * eventsPerRequest;
        const run = { eventsPerSecond: load.okPerSecond * eventsPerRequest, cpuMsPerEvent: (after - before) / events };
        each.runs.push(run);
        console.log(
          `round ${round + 1} ${each.name}: ${Math.round(run.eventsPerSecond)} events/s, ${run.cpuMsPerEvent.toFixed(4)} ms CPU/event`,
        );
      }
    }
    const fmt = (spread: ReturnType<typeof perRoundRatio>) =>
      spread ? `${spread.median.toFixed(3)} (${spread.min.toFixed(3)}–${spread.max.toFixed(3)})` : 'n/a';
    const [base, ...others] = running;
    for (const each of others) {
      const figure = (runs: Run[], key: keyof Run) => runs.map((run) => run[key]);
      console.log(
        `${each.name} over ${base!.name}: CPU per event ${fmt(perRoundRatio(figure(each.runs, 'cpuMsPerEvent'), figure(base!.runs, 'cpuMsPerEvent')))}, ` +
          `events/s ${fmt(perRoundRatio(figure(each.runs, 'eventsPerSecond'), figure(base!.runs, 'eventsPerSecond')))}`,
      );
    }
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await cluster.destroy();
    if (schemas) await stopRegistry(REGISTRY_DIR);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
