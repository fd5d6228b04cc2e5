// Our consumer alone, two builds side by side: each round runs every build and the bare KafkaJS
// consumer (bench/kafkajs-limit.ts) through one topic, each a fresh group from the beginning, the
// order rotating, so that a busy moment of a shared machine weighs on all of them. For the
// findings' before/after figures: build the older tree elsewhere and name its root.
// Run: BENCH_PORT_BASE=... bash scripts/with-node.sh tsx bench/consumer-compare.ts <name>=<repo root>[,VAR=value...] ... [--events N] [--rounds N]
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { toKafkaRecord } from '../common/src/index';
import { startKafkaCluster } from '../scripts/kafka/cluster';
import { benchPorts, compareArgs } from './config';
import { cpuMs, startChild, waitReady } from './processes';
import { perRoundRatio, sumSamples } from './stats';

interface Run {
  eventsPerSecond: number;
  cpuUsPerEvent: number;
}

const { builds, option } = compareArgs(process.argv.slice(2));
const events = option('events', 300_000);
const rounds = option('rounds', 3);
const PARTITIONS = 6;

async function fill(brokers: string[], topic: string): Promise<void> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const payload = 'x'.repeat(150);
  for (let start = 0; start < events; start += 1000) {
    const messages = Array.from({ length: Math.min(1000, events - start) }, (_, offset) => {
      const index = start + offset;
      // Half with a subject (a key: ordered), half without (no key), as the producer writes them.
      const subject = index % 2 === 0 ? `user-${index % 500}` : undefined;
      const record = toKafkaRecord(
        {
          specversion: '1.0',
          id: `e-${index}`,
          source: 'bench',
          type: 'page.viewed',
          time: new Date().toISOString(),
          datacontenttype: 'application/json',
          ...(subject ? { subject } : {}),
          data: { index, payload },
        },
        Date.now(),
      );
      return { key: subject ?? null, value: record.value, headers: record.headers, timestamp: record.timestamp };
    });
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

async function ours(
  { name, root, env }: (typeof builds)[number],
  brokers: string[],
  topic: string,
  group: string,
  port: number,
): Promise<Run> {
  const child = startChild(
    `compare-${name}`,
    process.execPath,
    ['--require', '@event-pipeline/observability/register', path.join(root, 'consumer', 'dist', 'main.js')],
    {
      cwd: path.join(root, 'consumer'),
      env: {
        OTEL_SDK_DISABLED: 'true',
        KAFKA_BROKERS: brokers.join(','),
        EVENTS_TOPIC: topic,
        DLQ_TOPIC: `${topic}.dlq`,
        TOPIC_PARTITIONS: String(PARTITIONS),
        CONSUMER_GROUP: group,
        METRICS_PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        FROM_BEGINNING: 'true',
        ...env,
      },
    },
  );
  try {
    await waitReady(child, `http://127.0.0.1:${port}/health/ready`);
    const processed = async () =>
      sumSamples(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'events_processed_total', {
        outcome: 'success',
      });
    let first: { at: number; count: number; cpu: number } | undefined;
    let count = 0;
    const deadline = Date.now() + 600_000;
    while (count < events && Date.now() < deadline) {
      count = await processed();
      if (!first && count > 0) first = { at: performance.now(), count, cpu: cpuMs(child.process.pid)! };
      if (count < events) await sleep(100);
    }
    const end = { at: performance.now(), cpu: cpuMs(child.process.pid)! };
    if (!first || count < events) throw new Error(`${root}: processed ${count} of ${events}`);
    const done = count - first.count;
    return {
      eventsPerSecond: Math.round(done / ((end.at - first.at) / 1000)),
      cpuUsPerEvent: ((end.cpu - first.cpu) * 1000) / done,
    };
  } finally {
    await child.stop();
  }
}

async function bare(brokers: string[], topic: string, group: string): Promise<Run> {
  const child = startChild('compare-kafkajs-limit', process.execPath, [
    '--import',
    'tsx',
    path.join(__dirname, 'kafkajs-limit.ts'),
    brokers.join(','),
    topic,
    group,
    String(events),
    '3',
  ]);
  const code = await child.exited;
  if (code !== 0) throw new Error(`bare KafkaJS ended with ${code}: ${child.logTail()}`);
  const line = readFileSync(child.logFile, 'utf8').trim().split('\n').at(-1)!;
  const { records, seconds, cpuMs: cpu } = JSON.parse(line) as { records: number; seconds: number; cpuMs: number };
  return { eventsPerSecond: Math.round(records / seconds), cpuUsPerEvent: (cpu * 1000) / records };
}

async function main(): Promise<void> {
  if (builds.length === 0) throw new Error('name at least one build: <name>=<repo root>');
  const ports = benchPorts();
  const cluster = await startKafkaCluster({ name: 'consumer-compare', brokerPort: ports.kafka, fresh: true });
  try {
    const topic = `compare-${Date.now()}`;
    await fill(cluster.brokers, topic);
    const contenders = [...builds.map((build) => build.name), 'kafkajs'];
    const results = new Map<string, Run[]>(contenders.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < contenders.length; turn++) {
        const name = contenders[(round + turn) % contenders.length]!;
        const group = `${topic}-${name}-${round}`;
        const build = builds.find((each) => each.name === name);
        const run = build
          ? await ours(build, cluster.brokers, topic, group, ports.consumerMetrics)
          : await bare(cluster.brokers, topic, group);
        results.get(name)!.push(run);
        console.log(
          `round ${round + 1} ${name}: ${run.eventsPerSecond} events/s, ${run.cpuUsPerEvent.toFixed(2)} µs CPU/event`,
        );
      }
    }
    const figures = (name: string, figure: keyof Run) => results.get(name)!.map((run) => run[figure]);
    const fmt = (spread: ReturnType<typeof perRoundRatio>) =>
      spread ? `${spread.median.toFixed(3)} (${spread.min.toFixed(3)}–${spread.max.toFixed(3)})` : 'n/a';
    for (const { name } of builds) {
      console.log(
        `${name}: events/s over bare KafkaJS ${fmt(perRoundRatio(figures(name, 'eventsPerSecond'), figures('kafkajs', 'eventsPerSecond')))}, ` +
          `CPU per event over bare KafkaJS ${fmt(perRoundRatio(figures(name, 'cpuUsPerEvent'), figures('kafkajs', 'cpuUsPerEvent')))}`,
      );
    }
    for (const { name } of builds.slice(1)) {
      const base = builds[0]!.name;
      console.log(
        `${name} over ${base}: events/s ${fmt(perRoundRatio(figures(name, 'eventsPerSecond'), figures(base, 'eventsPerSecond')))}, ` +
          `CPU per event ${fmt(perRoundRatio(figures(name, 'cpuUsPerEvent'), figures(base, 'cpuUsPerEvent')))}`,
      );
    }
  } finally {
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
