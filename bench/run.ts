// npm run bench [-- --quick | --profile]: every figure is measured side by side in one run on
// this machine and reported as a ratio against a limit or a peer (docs/benchmarks.md).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { loadConsumerConfig } from '../consumer/src/config';
import { startJaeger, type Jaeger } from '../scripts/jaeger/jaeger';
import { stopRegistry } from '../scripts/registry/registry';
import { KAFKA_VERSION, startKafkaCluster, type KafkaCluster } from '../scripts/kafka/cluster';
import { startBenchRegistry } from './registry';
import { BRIDGE_CONTENT_TYPE, BRIDGE_VERSION, bridgeBody, ensureBridgeJars, startBridge } from './bridge';
import {
  benchPorts,
  eventData,
  planFor,
  requestBody,
  scenarioName,
  schemaRequestBody,
  type BenchPorts,
  type Mode,
  type PipelineScenario,
  type Plan,
} from './config';
import { runKafkaConsumerPerf, runKafkaPerf } from './kafka-perf';
import { autocannonRun, closedLoop, openLoop, warmUp, type LoadResult, type Target } from './load';
import {
  BENTHOS_VERSION,
  ensureBenthos,
  ensureFastapiVenv,
  fastapiVersions,
  startBenthos,
  startFastapi,
} from './peers';
import {
  BENCH_CACHE,
  REPO_ROOT,
  cpuMs,
  killAll,
  startChild,
  startService,
  machineBusyMs,
  settle,
  treeCpuMs,
  waitReady,
  type Child,
} from './processes';
import { foldedStacks, readProfile, summarizeProfile } from './profile';
import { updateReadme, writeProfileReport, writeReport, type ProfiledScenario } from './report';
import type {
  BaselineResult,
  BenchResult,
  ConsumerBench,
  ConsumerRun,
  EndToEnd,
  KafkaDownCheck,
  PeerInfo,
  RoundResult,
  ScenarioResult,
  Spread,
  System,
} from './result';
import {
  histogramQuantile,
  median,
  parseHistogram,
  perRoundRatio,
  ratio,
  round,
  spreadOf,
  sumSamples,
  type HistogramBucket,
} from './stats';

export const RESULTS_DIR = path.join(__dirname, 'results');
const PARTITIONS = 6;
/** The bare KafkaJS consumer reads as many partitions at once as ours does by default. */
const PARTITIONS_CONSUMED_CONCURRENTLY = loadConsumerConfig({}).PARTITIONS_CONSUMED_CONCURRENTLY;
const runStarted = Date.now();

function progress(message: string): void {
  const seconds = ((Date.now() - runStarted) / 1000).toFixed(0).padStart(4);
  console.log(`[bench ${seconds}s] ${message}`);
}

function parseMode(argv: string[]): Mode {
  if (argv.includes('--profile')) return 'profile';
  if (argv.includes('--quick')) return 'quick';
  return 'full';
}

async function withAdmin<T>(brokers: string[], work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

async function createTopic(brokers: string[], topic: string): Promise<void> {
  await withAdmin(brokers, (admin) =>
    admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }),
  );
}

async function recordsInTopic(brokers: string[], topic: string): Promise<number> {
  const offsets = await withAdmin(brokers, (admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return response.text();
}

const E2E_METRIC = 'events_end_to_end_latency_seconds';

function endToEnd(after: HistogramBucket[], before: HistogramBucket[] = []): EndToEnd {
  const earlier = new Map(before.map((bucket) => [bucket.le, bucket.count]));
  const delta = after.map((bucket) => ({ le: bucket.le, count: bucket.count - (earlier.get(bucket.le) ?? 0) }));
  const events = delta.at(-1)?.count ?? 0;
  const ms = (q: number): number | null => round(histogramQuantile(delta, q) * 1000);
  return { events, p50Ms: ms(0.5), p99Ms: ms(0.99) };
}

/** Waits until the consumer processed `count` events (or gives up), then returns its e2e histogram. */
async function drained(metricsUrl: string, count: number, timeoutMs: number): Promise<HistogramBucket[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await scrape(metricsUrl);
    const processed = sumSamples(text, 'events_processed_total', { outcome: 'success' });
    if (processed >= count || Date.now() > deadline) {
      if (processed < count) progress(`  consumer processed ${processed} of ${count} events before the wait ran out`);
      return parseHistogram(text, E2E_METRIC);
    }
    await sleep(250);
  }
}

/** Reads a child's own CPU time at the start and end of a measured run (the profile's one process). */
function cpuMeter(child: Child): {
  mark: (phase: 'start' | 'end') => void;
  perEvent: (events: number) => number | null;
} {
  const at: Partial<Record<'start' | 'end', number>> = {};
  return {
    mark: (phase) => (at[phase] = cpuMs(child.process.pid)),
    perEvent: (events) =>
      at.start === undefined || at.end === undefined || events === 0 ? null : round((at.end - at.start) / events),
  };
}

/** Spans the SDK's batch span processor dropped, as its warnings in the service's log say. */
function droppedSpans(child: Child): number {
  return droppedSpansIn(child.logFile);
}

function droppedSpansIn(logFile: string): number {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return 0;
  }
  let sum = 0;
  for (const match of text.matchAll(/Dropped (\d+) spans because maxQueueSize reached/g)) sum += Number(match[1]);
  return sum;
}

/** 2xx answers of all the runs. */
function answered(results: LoadResult[]): number {
  return results.reduce((sum, result) => sum + result.ok, 0);
}

function loadErrors(results: LoadResult[]): number {
  return results.reduce((sum, result) => sum + result.errors + result.non2xx, 0);
}

function describe(result: LoadResult, eventsPerRequest: number): string {
  const latency = result.latencyMs;
  return (
    `${Math.round(result.okPerSecond * eventsPerRequest)} events/s (${Math.round(result.okPerSecond)} req/s), ` +
    `p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, p99.9 ${latency.p999.toFixed(1)} ms` +
    (result.errors + result.non2xx > 0 ? `, ${result.errors} errors, ${result.non2xx} non-2xx` : '')
  );
}

interface Context {
  plan: Plan;
  ports: BenchPorts;
  brokers: string[];
  runId: string;
  jaeger: Jaeger | undefined;
  /** The schema registry of the schema scenarios, with the repository's schemas pushed. */
  registryUrl: string | undefined;
}

function serviceEnv(ctx: Context, topic: string, scenario: PipelineScenario): Record<string, string> {
  const sampler: Record<string, string> =
    scenario.sampleRatio === undefined
      ? { OTEL_TRACES_SAMPLER: 'parentbased_always_on' }
      : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(scenario.sampleRatio) };
  return {
    ...sampler,
    KAFKA_BROKERS: ctx.brokers.join(','),
    EVENTS_TOPIC: topic,
    TOPIC_PARTITIONS: String(PARTITIONS),
    LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: ctx.jaeger?.otlpHttpEndpoint ?? 'http://127.0.0.1:1',
    ...(scenario.schema && ctx.registryUrl ? { SCHEMA_REGISTRY_URL: ctx.registryUrl, SCHEMAS_REQUIRED: 'true' } : {}),
  };
}

/** Our producer variants run side by side in a shape's rounds, each on a port of its own. */
function producerPort(ctx: Context, scenario: PipelineScenario): number {
  if (scenario.workers === 1) return ctx.ports.producerOneWorker;
  if (scenario.schema) return ctx.ports.producerSchema;
  if (!scenario.telemetry) return ctx.ports.producer;
  return scenario.sampleRatio === undefined ? ctx.ports.producerTraced : ctx.ports.producerSampled;
}

async function startProducer(
  ctx: Context,
  scenario: PipelineScenario,
  topic: string,
  nodeFlags: string[] = [],
): Promise<Child> {
  const port = producerPort(ctx, scenario);
  // Under the profiler one process, so that the profile holds all the work; else the default
  // (one worker per core) unless the scenario names a count.
  const workers = nodeFlags.length > 0 ? 1 : scenario.workers;
  const producer = startService('producer', `producer-${scenario.name}`, {
    telemetry: scenario.telemetry,
    nodeFlags,
    env: {
      ...serviceEnv(ctx, topic, scenario),
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(workers === undefined ? {} : { PRODUCER_WORKERS: String(workers) }),
    },
  });
  await waitReady(producer, `http://127.0.0.1:${port}/health/ready`);
  return producer;
}

async function startConsumer(ctx: Context, scenario: PipelineScenario, topic: string): Promise<Child> {
  const consumer = startService('consumer', `consumer-${scenario.name}`, {
    telemetry: scenario.telemetry,
    env: {
      ...serviceEnv(ctx, topic, scenario),
      METRICS_PORT: String(ctx.ports.consumerMetrics),
      HOST: '127.0.0.1',
      CONSUMER_GROUP: `${topic}-processor`,
      DLQ_TOPIC: `${topic}.dlq`,
      FROM_BEGINNING: 'true',
    },
  });
  await waitReady(consumer, `http://127.0.0.1:${ctx.ports.consumerMetrics}/health/ready`);
  return consumer;
}

function eventsTarget(port: number, scenario: PipelineScenario): Target {
  return {
    url: `http://127.0.0.1:${port}/events`,
    headers: { 'content-type': 'application/json' },
    body: scenario.schema
      ? schemaRequestBody(scenario.eventsPerRequest)
      : requestBody(scenario.eventsPerRequest, scenario.payloadBytes),
  };
}

function pipelineTarget(ctx: Context, scenario: PipelineScenario): Target {
  return eventsTarget(producerPort(ctx, scenario), scenario);
}

/** One system of a shape: how to start it on a topic and the request it takes. */
interface Contender {
  system: System;
  scenario: PipelineScenario;
  start(topic: string): Promise<Child>;
  target(topic: string): Target;
  /** Its records are not written to Kafka (the bare HTTP server): no topic, no delivery check. */
  writesNothing?: boolean;
}

interface Running {
  contender: Contender;
  topic: string;
  child: Child;
  target: Target;
  amount: number;
  /** How many of `loads` are warm-ups (they come first). */
  warmups: number;
  accepted: number;
  loads: LoadResult[];
  rounds: RoundResult[];
}

/**
 * CPU the rest of the machine spent during a system's measured run: the machine's busy time less
 * the system's own and the load generator's (this process). Kafka's share of serving the run is
 * in it, so it is never zero; a large figure says the run shared the machine with something.
 */
function othersCpu(
  machineBefore: number | undefined,
  machineAfter: number | undefined,
  systemBefore: number | undefined,
  systemAfter: number | undefined,
  bench: NodeJS.CpuUsage,
): number | null {
  if ([machineBefore, machineAfter, systemBefore, systemAfter].some((each) => each === undefined)) return null;
  const others = machineAfter! - machineBefore! - (systemAfter! - systemBefore!) - (bench.user + bench.system) / 1000;
  return Math.max(0, Math.round(others));
}

/**
 * After the rounds, our traced scenarios go on to the pipeline's own figures: the consumer
 * starts (its end-to-end latency of the rounds' events is a backlog), the closed loop runs again
 * with it sharing the machine, and the open model offers fractions of that.
 */
async function openModel(
  ctx: Context,
  running: Running,
): Promise<{
  consumer: Child;
  withConsumer: LoadResult;
  open: ScenarioResult['open'];
  endToEnd: ScenarioResult['endToEnd'];
}> {
  const { scenario } = running.contender;
  const epr = scenario.eventsPerRequest;
  const metricsUrl = `http://127.0.0.1:${ctx.ports.consumerMetrics}/metrics`;
  const consumer = await startConsumer(ctx, scenario, running.topic);
  const afterClosed = await drained(metricsUrl, await recordsInTopic(ctx.brokers, running.topic), 120_000);
  const withConsumer = await autocannonRun(running.target, scenario.connections, running.amount);
  running.loads.push(withConsumer);
  running.accepted += withConsumer.ok * epr;
  progress(`  ${scenario.name} closed loop with the consumer running: ${describe(withConsumer, epr)}`);
  const beforeOpen = await drained(metricsUrl, await recordsInTopic(ctx.brokers, running.topic), 120_000);
  const open: ScenarioResult['open'] = [];
  for (const fraction of scenario.openFractions) {
    const rate = Math.max(1, Math.round(withConsumer.okPerSecond * fraction));
    const result = await openLoop(running.target, rate, ctx.plan.openSeconds);
    running.accepted += result.ok * epr;
    running.loads.push(result);
    open.push({ ...result, fraction, eventsPerSecond: result.okPerSecond * epr });
    progress(
      `  ${scenario.name} open model at ${Math.round(fraction * 100)}% (${rate} req/s): ${describe(result, epr)}`,
    );
  }
  const afterOpen = await drained(metricsUrl, await recordsInTopic(ctx.brokers, running.topic), 120_000);
  return {
    consumer,
    withConsumer,
    open,
    endToEnd: { closed: endToEnd(afterClosed), open: open.length > 0 ? endToEnd(afterOpen, beforeOpen) : null },
  };
}

function rotated<T>(items: T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * One shape, every system measured in it side by side: each started on a fresh topic and warmed
 * up, then `rounds` rounds in which each system takes one measured closed-loop run in turn (the
 * order rotating, so that no system always follows the same one). A round's events/s and CPU per
 * event come from the same run, and ratios are taken round by round: what the machine was doing
 * meanwhile weighs on both sides of a ratio alike.
 */
async function runShape(ctx: Context, shape: string, contenders: Contender[]): Promise<ScenarioResult[]> {
  const running: Running[] = [];
  const consumers: Child[] = [];
  const results: ScenarioResult[] = [];
  try {
    for (const contender of contenders) {
      const topic = `bench-${ctx.runId}-${contender.system}-${contender.scenario.name}`;
      if (!contender.writesNothing) await createTopic(ctx.brokers, topic);
      const child = await contender.start(topic);
      running.push({
        contender,
        topic,
        child,
        target: contender.target(topic),
        amount: 0,
        warmups: 0,
        accepted: 0,
        loads: [],
        rounds: [],
      });
    }
    for (const each of running) {
      const { scenario } = each.contender;
      await settle();
      const pid = each.child.process.pid;
      const { amount, warmups } = await warmUp(each.target, scenario.connections, ctx.plan.closedSeconds, () =>
        treeCpuMs(pid),
      );
      each.amount = amount;
      each.warmups = warmups.length;
      each.loads.push(...warmups);
      each.accepted += answered(warmups) * scenario.eventsPerRequest;
    }
    for (let turn = 0; turn < ctx.plan.rounds; turn++) {
      for (const each of rotated(running, turn)) {
        const { scenario, system } = each.contender;
        const epr = scenario.eventsPerRequest;
        const pid = each.child.process.pid;
        // Each system's turn starts on a quiet machine: what the last one left running (span
        // exports, the collector, garbage collections) would otherwise be measured with it.
        const settledMs = await settle();
        const machineBefore = machineBusyMs();
        const benchBefore = process.cpuUsage();
        const cpuBefore = treeCpuMs(pid);
        const load = await autocannonRun(each.target, scenario.connections, each.amount);
        const cpuAfter = treeCpuMs(pid);
        const machineAfter = machineBusyMs();
        const bench = process.cpuUsage(benchBefore);
        each.loads.push(load);
        each.accepted += load.ok * epr;
        const events = load.ok * epr;
        const cpuMsPerEvent =
          cpuBefore === undefined || cpuAfter === undefined || events === 0 ? null : (cpuAfter - cpuBefore) / events;
        each.rounds.push({
          round: turn,
          eventsPerSecond: load.okPerSecond * epr,
          cpuMsPerEvent: round(cpuMsPerEvent),
          latencyMs: load.latencyMs,
          ok: load.ok,
          errors: load.errors + load.non2xx,
          seconds: load.seconds,
          settledMs,
          othersCpuMs: othersCpu(machineBefore, machineAfter, cpuBefore, cpuAfter, bench),
        });
        progress(
          `  round ${turn + 1}/${ctx.plan.rounds} ${SYSTEM_LABEL[system]} ${scenario.name}: ${describe(load, epr)}, ` +
            `CPU ${round(cpuMsPerEvent)} ms/event`,
        );
      }
    }
    for (const each of running) {
      const { scenario, system } = each.contender;
      const epr = scenario.eventsPerRequest;
      let extra: Awaited<ReturnType<typeof openModel>> | undefined;
      if (system === 'pipeline' && scenario.openFractions.length > 0) {
        extra = await openModel(ctx, each);
        consumers.push(extra.consumer);
      }
      const byEvents = [...each.rounds].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
      const middle = byEvents[Math.floor((byEvents.length - 1) / 2)]!;
      const middleLoad = each.loads[each.warmups + middle.round]!;
      const inKafka = each.contender.writesNothing ? each.accepted : await recordsInTopic(ctx.brokers, each.topic);
      results.push({
        name: scenario.name,
        shape,
        system,
        telemetry: scenario.telemetry,
        ...(scenario.sampleRatio === undefined ? {} : { sampleRatio: scenario.sampleRatio }),
        eventsPerRequest: epr,
        payloadBytes: scenario.payloadBytes,
        connections: scenario.connections,
        closed: { ...middleLoad, eventsPerSecond: middleLoad.okPerSecond * epr },
        cpuMsPerEvent: round(median(each.rounds.map((r) => r.cpuMsPerEvent))),
        rounds: each.rounds,
        spread: {
          eventsPerSecond: roundSpread(spreadOf(each.rounds.map((r) => r.eventsPerSecond))),
          cpuMsPerEvent: roundSpread(spreadOf(each.rounds.map((r) => r.cpuMsPerEvent))),
        },
        open: extra?.open ?? [],
        closedWithConsumer: extra
          ? { ...extra.withConsumer, eventsPerSecond: extra.withConsumer.okPerSecond * epr }
          : null,
        endToEnd: extra?.endToEnd ?? { closed: { events: 0, p50Ms: null, p99Ms: null }, open: null },
        delivery: { accepted: each.accepted, inKafka, match: each.accepted === inKafka },
        errors: loadErrors(each.loads),
        droppedSpans: { producer: 0, consumer: 0 },
      });
      if (extra) {
        await extra.consumer.stop();
        consumers.splice(consumers.indexOf(extra.consumer), 1);
      }
    }
    await Promise.all(running.map((each) => each.child.stop()));
    for (const [index, each] of running.entries()) {
      const result = results[index]!;
      // Spans are exported on flush at exit too, so the count is complete only now.
      if (each.contender.system === 'pipeline') {
        result.droppedSpans.producer = droppedSpans(each.child);
        const consumerLog = path.join(path.dirname(each.child.logFile), `consumer-${each.contender.scenario.name}.log`);
        result.droppedSpans.consumer = result.open.length > 0 ? droppedSpansIn(consumerLog) : 0;
      }
      const dropped = result.droppedSpans.producer + result.droppedSpans.consumer;
      progress(
        `  ${SYSTEM_LABEL[result.system]} ${result.name}: median ${Math.round(result.closed.eventsPerSecond)} events/s, ` +
          `CPU ${result.cpuMsPerEvent} ms/event; accepted ${result.delivery.accepted}, in Kafka ${result.delivery.inKafka}` +
          (result.delivery.match ? '' : ' MISMATCH') +
          (dropped > 0 ? `; the span processors dropped ${dropped} spans (queue full)` : ''),
      );
    }
    return results;
  } finally {
    await Promise.all([...running.map((each) => each.child.stop()), ...consumers.map((each) => each.stop())]);
  }
}

function roundSpread(spread: Spread | null): Spread | null {
  return spread && { median: round(spread.median)!, min: round(spread.min)!, max: round(spread.max)! };
}

const SYSTEM_LABEL: Record<System, string> = {
  pipeline: 'ours',
  benthos: 'Benthos',
  fastapi: 'FastAPI',
  bridge: 'bridge',
  http: 'bare node:http',
};

function httpContender(ctx: Context, scenario: PipelineScenario): Contender {
  return {
    system: 'http',
    scenario: { ...scenario, name: `${scenario.shape}-http`, telemetry: false },
    writesNothing: true,
    start: async () => {
      const server = startChild('http-baseline', process.execPath, [
        '--import',
        'tsx',
        path.join(__dirname, 'http-baseline.ts'),
        String(ctx.ports.httpBaseline),
      ]);
      await waitReady(server, `http://127.0.0.1:${ctx.ports.httpBaseline}/`);
      return server;
    },
    target: () => eventsTarget(ctx.ports.httpBaseline, scenario),
  };
}

async function runKafkaBaselines(ctx: Context): Promise<BaselineResult[]> {
  const results: BaselineResult[] = [];
  for (const payloadBytes of ctx.plan.payloads) {
    const topic = `bench-${ctx.runId}-perf-${payloadBytes}`;
    await createTopic(ctx.brokers, topic);
    const runs = [];
    for (let run = 0; run < ctx.plan.rounds; run++) {
      const perf = await runKafkaPerf({
        brokers: ctx.brokers.join(','),
        topic,
        records: ctx.plan.kafkaPerfRecords,
        recordBytes: payloadBytes,
      });
      progress(
        `  kafka-producer-perf-test, ${payloadBytes} B, acks=all: ${Math.round(perf.recordsPerSecond)} records/s, ` +
          `p50 ${perf.latencyMs.p50} ms, p99 ${perf.latencyMs.p99} ms`,
      );
      runs.push(perf);
    }
    const sorted = [...runs].sort((a, b) => a.recordsPerSecond - b.recordsPerSecond);
    results.push({
      payloadBytes,
      http: null,
      httpCpuMsPerRequest: null,
      kafka: sorted[Math.floor((sorted.length - 1) / 2)] ?? null,
      kafkaRecordsPerSecond: roundSpread(spreadOf(runs.map((run) => run.recordsPerSecond))),
    });
  }
  return results;
}

const BENTHOS_SETUP =
  'http_server input answering after the kafka_franz output acknowledged every record of the request ' +
  '(idempotent_write, so acks=all; max_in_flight 256); batch requests split with unarchive json_array';
const FASTAPI_SETUP =
  'pydantic-checked events, AIOKafkaProducer(acks="all", enable_idempotence=True), 202 after every send ' +
  'of the request was awaited; uvicorn[standard], one worker per core, access log off';

/** What each system does that the others do not: read the figures with these in mind. */
const DIFFERENCES = [
  'Ours checks every event against CloudEvents 1.0 (required attributes, their formats, extension names), ' +
    'completes it (id, source, time) and writes it in the CloudEvents Kafka binary binding: the data as the ' +
    'value, the attributes as `ce_*` headers, the subject as the key (the bench events have none, so they are ' +
    "unkeyed and each produce request's events share one partition, as with Benthos). The schema scenarios " +
    '(`*-avro-notel`) also check and encode the data against its Avro schema from ' +
    'the registry (SCHEMAS_REQUIRED=true).',
  "Benthos writes each request's JSON (or each element of an array) as the record value as it came, with no " +
    'check, no key and no headers; kafka_franz compresses batches with snappy by default (ours and the FastAPI ' +
    "peer do not compress) and franz-go's sticky partitioner fills one partition per batch for unkeyed records.",
  'The FastAPI peer checks each event against a pydantic model of two fields (`type`, any `data`) and writes its ' +
    "JSON as the value with no key and no headers; aiokafka's default partitioner picks a random partition for " +
    'unkeyed records. uvicorn runs one worker process per core.',
  'The bare node:http server reads the body and answers 202 with one id: no parsing, no Kafka. It is the floor of ' +
    'a Node HTTP answer on this machine, the reference of `producer_cpu_vs_http`.',
  "Record sizes: ours writes the event's data as the value (the bench's 200 B) and its attributes as six `ce_*` " +
    'headers and `content-type` (about 170 B more); Benthos and the FastAPI peer write the whole event JSON (about ' +
    '230 B) as the value, with no headers.',
];

/** Ours (each telemetry variant), Benthos, FastAPI and the bridge: the contenders of each shape. */
async function contendersOf(ctx: Context): Promise<{ peers: PeerInfo[]; byShape: Map<string, Contender[]> }> {
  const peers: PeerInfo[] = [];
  const blocked = (info: PeerInfo, error: unknown): void => {
    const reason = error instanceof Error ? error.message : String(error);
    progress(`  ${info.name} is left out: ${reason}`);
    peers.push({ ...info, status: 'blocked', reason });
  };
  const benthosInfo: PeerInfo = {
    system: 'benthos',
    name: 'Benthos',
    version: BENTHOS_VERSION,
    status: 'measured',
    setup: BENTHOS_SETUP,
  };
  progress(`peer: Benthos ${BENTHOS_VERSION} (built once into .cache/tools)`);
  let benthos: string | undefined;
  try {
    benthos = await ensureBenthos();
    peers.push(benthosInfo);
  } catch (error) {
    blocked(benthosInfo, error);
  }
  const fastapiVersionsNow = fastapiVersions();
  const fastapiInfo: PeerInfo = {
    system: 'fastapi',
    name: 'FastAPI + uvicorn + aiokafka',
    version: `FastAPI ${fastapiVersionsNow.fastapi}, uvicorn ${fastapiVersionsNow.uvicorn}, aiokafka ${fastapiVersionsNow.aiokafka}`,
    status: 'measured',
    setup: FASTAPI_SETUP,
  };
  progress(`peer: ${fastapiInfo.name} (${fastapiInfo.version})`);
  let fastapi: string | undefined;
  try {
    fastapi = await ensureFastapiVenv();
    peers.push(fastapiInfo);
  } catch (error) {
    blocked(fastapiInfo, error);
  }
  const bridge = await bridgeLibs();
  peers.push(bridge.peer);

  const byShape = new Map<string, Contender[]>();
  for (const scenario of ctx.plan.scenarios) {
    const list = byShape.get(scenario.shape) ?? [];
    list.push({
      system: 'pipeline',
      scenario,
      start: (topic) => startProducer(ctx, scenario, topic),
      target: () => pipelineTarget(ctx, scenario),
    });
    byShape.set(scenario.shape, list);
  }
  for (const [shape, list] of byShape) {
    const plain = list.find(
      (each) => !each.scenario.telemetry && !each.scenario.schema && each.scenario.workers === undefined,
    )!.scenario;
    const peerScenario = (telemetry: boolean): PipelineScenario => ({
      ...plain,
      name: scenarioName(plain.eventsPerRequest, plain.payloadBytes, telemetry),
      telemetry,
      openFractions: [],
    });
    if (plain.eventsPerRequest === 1) list.push(httpContender(ctx, plain));
    if (benthos) {
      const binary = benthos;
      list.push({
        system: 'benthos',
        scenario: peerScenario(false),
        start: (topic) =>
          startBenthos(binary, {
            brokers: ctx.brokers.join(','),
            topic,
            port: ctx.ports.benthos,
            adminPort: ctx.ports.benthosAdmin,
          }),
        target: () => eventsTarget(ctx.ports.benthos, plain),
      });
      const traced = list.some(
        (each) => each.system === 'pipeline' && each.scenario.telemetry && each.scenario.sampleRatio === undefined,
      );
      if (traced && ctx.jaeger) {
        const otlpHttpEndpoint = ctx.jaeger.otlpHttpEndpoint;
        list.push({
          system: 'benthos',
          scenario: peerScenario(true),
          start: (topic) =>
            startBenthos(binary, {
              brokers: ctx.brokers.join(','),
              topic,
              port: ctx.ports.benthosTraced,
              adminPort: ctx.ports.benthosTracedAdmin,
              otlpHttpEndpoint,
            }),
          target: () => eventsTarget(ctx.ports.benthosTraced, plain),
        });
      }
    }
    if (fastapi) {
      const bin = fastapi;
      list.push({
        system: 'fastapi',
        scenario: peerScenario(false),
        start: (topic) => startFastapi(bin, { brokers: ctx.brokers.join(','), topic, port: ctx.ports.fastapi }),
        target: () => eventsTarget(ctx.ports.fastapi, plain),
      });
    }
    if (bridge.libs) {
      const libs = bridge.libs;
      list.push({
        system: 'bridge',
        scenario: peerScenario(false),
        start: () => startBridge({ libs, brokers: ctx.brokers.join(','), port: ctx.ports.bridge }),
        target: (topic) => ({
          url: `http://127.0.0.1:${ctx.ports.bridge}/topics/${topic}`,
          headers: { 'content-type': BRIDGE_CONTENT_TYPE },
          body: bridgeBody(Array.from({ length: plain.eventsPerRequest }, () => eventData(plain.payloadBytes))),
        }),
      });
    }
    progress(`shape ${shape}: ${list.map((each) => `${SYSTEM_LABEL[each.system]} ${each.scenario.name}`).join(', ')}`);
  }
  return { peers, byShape };
}

async function bridgeLibs(): Promise<{ peer: PeerInfo; libs: string | undefined }> {
  const peer: PeerInfo = {
    system: 'bridge',
    name: 'Strimzi Kafka Bridge',
    version: BRIDGE_VERSION,
    status: 'measured',
    setup: 'kafka.producer.acks=all, enable.idempotence=true',
  };
  progress(`peer: Strimzi Kafka Bridge ${BRIDGE_VERSION}`);
  try {
    return { peer, libs: await ensureBridgeJars() };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    progress(`  the bridge is left out: ${reason}`);
    return { peer: { ...peer, status: 'blocked', reason: `not served here: ${reason}` }, libs: undefined };
  }
}

/** The plan's first plain scenario (schema-less events): the shape of the consumer and Kafka-down checks. */
function plainScenario(plan: Plan): PipelineScenario {
  return plan.scenarios.find((scenario) => !scenario.schema)!;
}

/**
 * Our consumer (default handler, telemetry off, a fresh group from the beginning) through a topic
 * the bench filled, beside a bare KafkaJS consumer (bench/kafkajs-limit.ts: eachBatch, counting
 * and resolving, nothing else) and Kafka's own kafka-consumer-perf-test on the same topic, each a
 * fresh group, in rounds whose order rotates. All rates leave out joining the group: ours and
 * KafkaJS's from the first record to the last, Kafka's its fetch rate.
 */
async function runConsumerBench(ctx: Context, topic: string): Promise<ConsumerBench> {
  const records = await recordsInTopic(ctx.brokers, topic);
  const rounds: ConsumerBench['rounds'] = [];
  const runs = ['ours', 'kafkajs', 'kafka'] as const;
  for (let round = 0; round < ctx.plan.rounds; round++) {
    const each: Partial<ConsumerBench['rounds'][number]> = { kafkajs: null, kafka: null };
    for (let turn = 0; turn < runs.length; turn++) {
      const which = runs[(round + turn) % runs.length]!;
      if (which === 'ours') {
        each.ours = await runOurConsumer(ctx, topic, records, `${topic}-consumer-bench-${round}`);
        progress(
          `  round ${round + 1}, our consumer: ${each.ours.eventsPerSecond} events/s, CPU ${each.ours.cpuMsPerEvent} ms/event`,
        );
      } else if (which === 'kafkajs') {
        each.kafkajs = await runKafkajsLimit(ctx, topic, records, `${topic}-kafkajs-${round}`);
        progress(
          `  round ${round + 1}, bare KafkaJS: ${each.kafkajs.eventsPerSecond} records/s, CPU ${each.kafkajs.cpuMsPerEvent} ms/record`,
        );
      } else {
        const perf = await runKafkaConsumerPerf({
          brokers: ctx.brokers.join(','),
          topic,
          records,
          group: `${topic}-perf-${round}`,
        });
        each.kafka = { recordsPerSecond: Math.round(perf.recordsPerSecond), seconds: perf.seconds };
        progress(`  round ${round + 1}, kafka-consumer-perf-test: ${each.kafka.recordsPerSecond} records/s`);
      }
    }
    rounds.push(each as ConsumerBench['rounds'][number]);
  }
  const medianOf = <T>(values: T[], figure: (value: T) => number): T => {
    const sorted = [...values].sort((a, b) => figure(a) - figure(b));
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  };
  const kafkajs = rounds.flatMap((each) => (each.kafkajs ? [each.kafkajs] : []));
  const kafka = rounds.flatMap((each) => (each.kafka ? [each.kafka] : []));
  return {
    topic,
    records,
    rounds,
    ours: medianOf(
      rounds.map((each) => each.ours),
      (run) => run.eventsPerSecond,
    ),
    kafkajs: kafkajs.length > 0 ? medianOf(kafkajs, (run) => run.eventsPerSecond) : null,
    kafka: kafka.length > 0 ? medianOf(kafka, (run) => run.recordsPerSecond) : null,
  };
}

async function runOurConsumer(ctx: Context, topic: string, records: number, group: string): Promise<ConsumerRun> {
  const shape: PipelineScenario = { ...plainScenario(ctx.plan), telemetry: false, name: 'consumer-bench' };
  const consumer = startService('consumer', 'consumer-bench', {
    telemetry: false,
    env: {
      ...serviceEnv(ctx, topic, shape),
      METRICS_PORT: String(ctx.ports.consumerMetrics),
      HOST: '127.0.0.1',
      CONSUMER_GROUP: group,
      DLQ_TOPIC: `${topic}.dlq`,
      FROM_BEGINNING: 'true',
    },
  });
  const metricsUrl = `http://127.0.0.1:${ctx.ports.consumerMetrics}/metrics`;
  try {
    await waitReady(consumer, `http://127.0.0.1:${ctx.ports.consumerMetrics}/health/ready`);
    const processed = async () =>
      sumSamples(await scrape(metricsUrl), 'events_processed_total', { outcome: 'success' });
    const deadline = Date.now() + 600_000;
    let first: { at: number; count: number; cpu: number | undefined } | undefined;
    let count = 0;
    while (count < records && Date.now() < deadline) {
      count = await processed();
      if (!first && count > 0) first = { at: performance.now(), count, cpu: cpuMs(consumer.process.pid) };
      if (count < records) await sleep(100);
    }
    const end = { at: performance.now(), cpu: cpuMs(consumer.process.pid) };
    if (!first || count < records) throw new Error(`the consumer processed ${count} of ${records} events in 10 min`);
    const events = count - first.count;
    const seconds = (end.at - first.at) / 1000;
    return {
      eventsPerSecond: Math.round(events / seconds),
      cpuMsPerEvent:
        first.cpu === undefined || end.cpu === undefined || events === 0
          ? null
          : round((end.cpu - first.cpu) / events, 4),
      seconds: round(seconds) ?? seconds,
    };
  } finally {
    await consumer.stop();
  }
}

/** The bare KafkaJS consumer through the same topic, with our consumer's partitions at once. */
async function runKafkajsLimit(ctx: Context, topic: string, records: number, group: string): Promise<ConsumerRun> {
  const child = startChild('kafkajs-limit', process.execPath, [
    '--import',
    'tsx',
    path.join(__dirname, 'kafkajs-limit.ts'),
    ctx.brokers.join(','),
    topic,
    group,
    String(records),
    String(PARTITIONS_CONSUMED_CONCURRENTLY),
  ]);
  // Unref'd: a bench that is done does not wait out this bound.
  const code = await Promise.race([child.exited, sleep(600_000, 'timed out', { ref: false })]);
  if (code !== 0) {
    await child.stop();
    throw new Error(`the bare KafkaJS consumer ended with ${code}: ${child.logTail()}`);
  }
  const line = readFileSync(child.logFile, 'utf8').trim().split('\n').at(-1) ?? '';
  const {
    records: count,
    seconds,
    cpuMs: cpu,
  } = JSON.parse(line) as { records: number; seconds: number; cpuMs: number };
  return {
    eventsPerSecond: Math.round(count / seconds),
    cpuMsPerEvent: round(cpu / count, 4),
    seconds: round(seconds) ?? seconds,
  };
}

/**
 * Kafka stopped under every system: ours, Benthos and the FastAPI stack each take one request
 * while the broker is down, and none may answer 2xx (an answer that Kafka has the event).
 */
async function checkKafkaDown(ctx: Context, cluster: KafkaCluster, peers: PeerInfo[]): Promise<KafkaDownCheck[]> {
  const topic = `bench-${ctx.runId}-kafka-down`;
  await createTopic(ctx.brokers, topic);
  const shape: PipelineScenario = {
    ...plainScenario(ctx.plan),
    eventsPerRequest: 1,
    telemetry: false,
    name: 'kafka-down',
  };
  const measured = (system: PeerInfo['system']) =>
    peers.some((peer) => peer.system === system && peer.status === 'measured');
  const systems: Array<{ system: KafkaDownCheck['system']; port: number; child: Child }> = [];
  try {
    const producer = await startProducer(ctx, shape, topic);
    systems.push({ system: 'pipeline', port: ctx.ports.producer, child: producer });
    if (measured('benthos')) {
      const child = await startBenthos(await ensureBenthos(), {
        brokers: ctx.brokers.join(','),
        topic,
        port: ctx.ports.benthos,
        adminPort: ctx.ports.benthosAdmin,
      });
      systems.push({ system: 'benthos', port: ctx.ports.benthos, child });
    }
    if (measured('fastapi')) {
      const child = await startFastapi(await ensureFastapiVenv(), {
        brokers: ctx.brokers.join(','),
        topic,
        port: ctx.ports.fastapi,
      });
      systems.push({ system: 'fastapi', port: ctx.ports.fastapi, child });
    }
    const send = async (port: number, waitMs: number): Promise<number | null> => {
      const target = eventsTarget(port, shape);
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: target.headers,
          body: target.body,
          signal: AbortSignal.timeout(waitMs),
        });
        await response.arrayBuffer();
        return response.status;
      } catch {
        return null;
      }
    };
    // Each takes an event with Kafka up first: the check is of a system that works.
    for (const { system, port } of systems) {
      const status = await send(port, 30_000);
      if (status === null || status < 200 || status >= 300)
        throw new Error(`${system} answered ${status} with Kafka up`);
    }
    progress('  Kafka up: every system answered 2xx; stopping the broker');
    await cluster.stopNode(0);
    const waitMs = 45_000;
    return await Promise.all(
      systems.map(async ({ system, port }) => {
        const started = performance.now();
        const status = await send(port, waitMs);
        const check = {
          system,
          status,
          waitedMs: Math.round(performance.now() - started),
          passed: status === null || status < 200 || status >= 300,
        };
        progress(
          `  Kafka down: ${system} answered ${status ?? `nothing within ${waitMs / 1000} s`} after ${check.waitedMs} ms` +
            (check.passed ? '' : ' (a 2xx for an event Kafka does not have)'),
        );
        return check;
      }),
    );
  } finally {
    await Promise.all(systems.map(({ child }) => child.stop(5000)));
  }
}

function commandOutput(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    return stderr?.trim() ?? 'unknown';
  }
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`, { paths: [REPO_ROOT, path.join(REPO_ROOT, 'producer')] });
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((value) => round(value)),
  };
}

function versions(): Record<string, string> {
  const java = commandOutput('java', ['-version']).split('\n')[0] ?? 'unknown';
  const jaeger = /jaeger-(v[\d.]+)/.exec(commandOutput('ls', [path.join(REPO_ROOT, '.cache', 'tools')]))?.[1];
  // KafkaJS as installed: with this repository's patch (patches/) when there is one, as npm ci applies it.
  const kafkajs = packageVersion('kafkajs');
  const kafkajsPatch = `patches/kafkajs+${kafkajs}.patch`;
  return {
    node: process.version,
    kafka: KAFKA_VERSION,
    kafkajs: existsSync(path.join(REPO_ROOT, kafkajsPatch)) ? `${kafkajs} + ${kafkajsPatch}` : kafkajs,
    koa: packageVersion('koa'),
    autocannon: packageVersion('autocannon'),
    '@opentelemetry/sdk-node': packageVersion('@opentelemetry/sdk-node'),
    jaeger: jaeger ?? 'unknown',
    java,
    'strimzi-kafka-bridge': BRIDGE_VERSION,
    benthos: BENTHOS_VERSION,
    ...Object.fromEntries(Object.entries(fastapiVersions()).map(([name, version]) => [`${name} (peer)`, version])),
    python: commandOutput('python3', ['--version']).replace(/^Python /, ''),
  };
}

function find(scenarios: ScenarioResult[], name: string, system: ScenarioResult['system'] = 'pipeline') {
  return scenarios.find((scenario) => scenario.name === name && scenario.system === system);
}

interface Measured {
  baselines: BaselineResult[];
  scenarios: ScenarioResult[];
  peers: PeerInfo[];
  consumer: ConsumerBench | null;
  kafkaDown: KafkaDownCheck[];
}

type Side = { name: string; system?: System };

function buildResult(plan: Plan, started: Date, measured: Measured): BenchResult {
  const { baselines, scenarios: all, peers, consumer, kafkaDown } = measured;
  const rounds = (side: Side, figure: 'eventsPerSecond' | 'cpuMsPerEvent') =>
    find(all, side.name, side.system ?? 'pipeline')?.rounds.map((each) => each[figure]) ?? [];
  const ranges: Record<string, [number, number] | null> = {};
  // A ratio of two systems of one shape, taken round by round; its median goes in `ratios`.
  const perRound = (key: string, figure: 'eventsPerSecond' | 'cpuMsPerEvent', top: Side, bottom: Side) => {
    const spread = perRoundRatio(rounds(top, figure), rounds(bottom, figure));
    ranges[key] = spread ? [round(spread.min)!, round(spread.max)!] : null;
    return spread ? round(spread.median) : null;
  };
  const eps = (name: string, system: System = 'pipeline'): number | undefined =>
    find(all, name, system)?.closed.eventsPerSecond;
  const kafka200 = baselines.find((baseline) => baseline.payloadBytes === 200)?.kafka?.recordsPerSecond;
  const kafka1k = baselines.find((baseline) => baseline.payloadBytes === 1024)?.kafka?.recordsPerSecond;
  const single = { name: 'single-200B-notel' };
  const batch = { name: 'batch100-200B-notel' };
  const benthos = (name: string) => ({ name, system: 'benthos' as const });
  const fastapi = (name: string) => ({ name, system: 'fastapi' as const });
  // Ours over the other consumer, round by round (each round's runs shared the machine's state).
  const consumerRatio = (
    key: string,
    bottom: (each: ConsumerBench['rounds'][number]) => number | null | undefined,
    top: (each: ConsumerBench['rounds'][number]) => number | null | undefined = (each) => each.ours.eventsPerSecond,
  ) => {
    const spread = perRoundRatio((consumer?.rounds ?? []).map(top), (consumer?.rounds ?? []).map(bottom));
    ranges[key] = spread ? [round(spread.min)!, round(spread.max)!] : null;
    return spread ? round(spread.median) : null;
  };
  const droppedBy = (service: 'producer' | 'consumer') =>
    all.reduce((sum, scenario) => sum + scenario.droppedSpans[service], 0);
  const droppedTotal = all.reduce(
    (sum, scenario) => sum + scenario.droppedSpans.producer + scenario.droppedSpans.consumer,
    0,
  );
  const ratios = {
    vs_benthos: perRound('vs_benthos', 'eventsPerSecond', single, benthos('single-200B-notel')),
    batch_vs_benthos: perRound('batch_vs_benthos', 'eventsPerSecond', batch, benthos('batch100-200B-notel')),
    traced_vs_benthos: perRound(
      'traced_vs_benthos',
      'eventsPerSecond',
      { name: 'single-200B' },
      benthos('single-200B'),
    ),
    batch_traced_vs_benthos: perRound(
      'batch_traced_vs_benthos',
      'eventsPerSecond',
      { name: 'batch100-200B' },
      benthos('batch100-200B'),
    ),
    vs_fastapi: perRound('vs_fastapi', 'eventsPerSecond', single, fastapi('single-200B-notel')),
    batch_vs_fastapi: perRound('batch_vs_fastapi', 'eventsPerSecond', batch, fastapi('batch100-200B-notel')),
    cpu_vs_benthos: perRound('cpu_vs_benthos', 'cpuMsPerEvent', single, benthos('single-200B-notel')),
    batch_cpu_vs_benthos: perRound('batch_cpu_vs_benthos', 'cpuMsPerEvent', batch, benthos('batch100-200B-notel')),
    producer_cpu_vs_http: perRound('producer_cpu_vs_http', 'cpuMsPerEvent', single, {
      name: 'single-200B-http',
      system: 'http',
    }),
    traced_cpu_vs_untraced: perRound('traced_cpu_vs_untraced', 'cpuMsPerEvent', { name: 'single-200B' }, single),
    sampled10_cpu_vs_untraced: perRound(
      'sampled10_cpu_vs_untraced',
      'cpuMsPerEvent',
      { name: 'single-200B-sampled10' },
      single,
    ),
    telemetry_throughput_ratio: perRound(
      'telemetry_throughput_ratio',
      'eventsPerSecond',
      { name: 'single-200B' },
      single,
    ),
    sampled10_telemetry_throughput_ratio: perRound(
      'sampled10_telemetry_throughput_ratio',
      'eventsPerSecond',
      { name: 'single-200B-sampled10' },
      single,
    ),
    dropped_spans: droppedTotal,
    consumer_vs_kafka_consumer: consumerRatio('consumer_vs_kafka_consumer', (each) => each.kafka?.recordsPerSecond),
    consumer_vs_kafkajs_limit: consumerRatio('consumer_vs_kafkajs_limit', (each) => each.kafkajs?.eventsPerSecond),
    consumer_cpu_vs_kafkajs_limit: consumerRatio(
      'consumer_cpu_vs_kafkajs_limit',
      (each) => each.kafkajs?.cpuMsPerEvent,
      (each) => each.ours.cpuMsPerEvent,
    ),
    dropped_spans_producer: droppedBy('producer'),
    dropped_spans_consumer: droppedBy('consumer'),
    single_vs_http_ceiling: perRound(
      'single_vs_http_ceiling',
      'eventsPerSecond',
      { name: 'single-200B' },
      {
        name: 'single-200B-http',
        system: 'http',
      },
    ),
    batch_vs_kafka_ceiling: round(ratio(eps('batch100-200B'), kafka200)),
    vs_strimzi_bridge: perRound('vs_strimzi_bridge', 'eventsPerSecond', single, {
      name: 'single-200B-notel',
      system: 'bridge',
    }),
  };
  const ratioDetails: BenchResult['ratioDetails'] = {
    single_notel_vs_http_ceiling: perRound('single_notel_vs_http_ceiling', 'eventsPerSecond', single, {
      name: 'single-200B-http',
      system: 'http',
    }),
    batch_notel_vs_kafka_ceiling: round(ratio(eps('batch100-200B-notel'), kafka200)),
    batch_telemetry_throughput_ratio: perRound(
      'batch_telemetry_throughput_ratio',
      'eventsPerSecond',
      { name: 'batch100-200B' },
      batch,
    ),
    batch_sampled10_telemetry_throughput_ratio: perRound(
      'batch_sampled10_telemetry_throughput_ratio',
      'eventsPerSecond',
      { name: 'batch100-200B-sampled10' },
      batch,
    ),
    batch_traced_cpu_vs_untraced: perRound(
      'batch_traced_cpu_vs_untraced',
      'cpuMsPerEvent',
      { name: 'batch100-200B' },
      batch,
    ),
    producer_cpu_vs_http_1worker: perRound(
      'producer_cpu_vs_http_1worker',
      'cpuMsPerEvent',
      { name: 'single-200B-notel-1worker' },
      { name: 'single-200B-http', system: 'http' },
    ),
    cpu_vs_benthos_1worker: perRound(
      'cpu_vs_benthos_1worker',
      'cpuMsPerEvent',
      { name: 'single-200B-notel-1worker' },
      benthos('single-200B-notel'),
    ),
    vs_benthos_1worker: perRound(
      'vs_benthos_1worker',
      'eventsPerSecond',
      { name: 'single-200B-notel-1worker' },
      benthos('single-200B-notel'),
    ),
    schema_cpu_vs_plain: perRound('schema_cpu_vs_plain', 'cpuMsPerEvent', { name: 'single-avro-notel' }, single),
    batch_schema_cpu_vs_plain: perRound(
      'batch_schema_cpu_vs_plain',
      'cpuMsPerEvent',
      { name: 'batch100-avro-notel' },
      batch,
    ),
    batch_1KB_vs_kafka_ceiling: round(ratio(eps('batch100-1KB'), kafka1k)),
    single_1KB_vs_benthos: perRound(
      'single_1KB_vs_benthos',
      'eventsPerSecond',
      { name: 'single-1KB-notel' },
      benthos('single-1KB-notel'),
    ),
    single_1KB_cpu_vs_benthos: perRound(
      'single_1KB_cpu_vs_benthos',
      'cpuMsPerEvent',
      { name: 'single-1KB-notel' },
      benthos('single-1KB-notel'),
    ),
    batch10_vs_benthos: perRound(
      'batch10_vs_benthos',
      'eventsPerSecond',
      { name: 'batch10-200B-notel' },
      benthos('batch10-200B-notel'),
    ),
    batch10_vs_fastapi: perRound(
      'batch10_vs_fastapi',
      'eventsPerSecond',
      { name: 'batch10-200B-notel' },
      fastapi('batch10-200B-notel'),
    ),
    cpu_vs_fastapi: perRound('cpu_vs_fastapi', 'cpuMsPerEvent', single, fastapi('single-200B-notel')),
    batch_cpu_vs_fastapi: perRound('batch_cpu_vs_fastapi', 'cpuMsPerEvent', batch, fastapi('batch100-200B-notel')),
    consumer_cpu_ms_per_event: consumer?.ours.cpuMsPerEvent ?? null,
    definitions:
      'Every ratio but the Kafka ceilings and the consumer is taken round by round (the systems of a shape measured ' +
      'one after the other in each round) and its median reported; `ratioRanges` holds the lowest and highest round. ' +
      "vs_<peer>: our closed-loop events/s over the peer's, same shape, load and Kafka (notel: both without " +
      "telemetry; traced: ours fully traced against Benthos with its tracer on); cpu_vs_<peer>: our producer's CPU " +
      "per event over the peer's (all its processes), lower is better; producer_cpu_vs_http: our producer's CPU " +
      "per one-event request without telemetry over the bare node:http server's; traced_cpu_vs_untraced and " +
      'sampled10_cpu_vs_untraced: CPU per event with every trace (or 10%) exported over OTEL_SDK_DISABLED=true; ' +
      'telemetry ratios: events/s likewise; dropped_spans: spans the span processors dropped in all scenarios; ' +
      "consumer_vs_kafka_consumer: our consumer's events/s (default handler) over kafka-consumer-perf-test's fetch " +
      'rate on the same topic, and consumer_vs_kafkajs_limit over a bare KafkaJS eachBatch consumer that only counts ' +
      "and resolves (consumer_cpu_vs_kafkajs_limit: our CPU per event over the bare one's per record, lower is better), " +
      'each per round like the others; dropped_spans_producer/_consumer: dropped_spans by service; schema_cpu_vs_plain: CPU per event of Avro-typed events checked and encoded against ' +
      'the registry over schema-less JSON events; *_1worker: ours with PRODUCER_WORKERS=1 (one event loop, as the ' +
      'bare server), where the others run the default of one worker per core.',
  };
  for (const peer of peers) {
    if (peer.status === 'blocked') ratioDetails[`vs_${peer.system}_blocked`] = peer.reason ?? 'blocked';
  }
  const goal = (text: string, value: number | null, met: (v: number) => boolean) => ({
    goal: text,
    value,
    met: value === null ? null : met(value),
  });
  const atLeast = (value: number | null, bound: number) => goal(`>= ${bound}`, value, (v) => v >= bound);
  const atMost = (value: number | null, bound: number) => goal(`<= ${bound}`, value, (v) => v <= bound);
  const accepted = all.reduce((sum, scenario) => sum + scenario.delivery.accepted, 0);
  const inKafka = all.reduce((sum, scenario) => sum + scenario.delivery.inKafka, 0);
  const mismatched = all
    .filter((scenario) => !scenario.delivery.match)
    .map((scenario) => `${SYSTEM_LABEL[scenario.system]} ${scenario.name}`);
  const finished = new Date();
  return {
    schema: 3,
    mode: plan.mode,
    command: plan.mode === 'full' ? 'npm run bench' : `npm run bench -- --${plan.mode}`,
    started: started.toISOString(),
    finished: finished.toISOString(),
    durationSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
    machine: machine(),
    versions: versions(),
    settings: {
      closedSeconds: plan.closedSeconds,
      rounds: plan.rounds,
      openSeconds: plan.openSeconds,
      openFractions: [0.5, 0.75, 0.9],
      partitions: PARTITIONS,
      kafkaPerfRecords: plan.kafkaPerfRecords,
      logLevel: 'warn',
      acks: 'all',
      loadGenerator: 'autocannon in the bench process, one measured run per system per round, the order rotating',
    },
    ratios,
    ratioRanges: ranges,
    ratioDetails,
    goals: {
      cpu_vs_benthos: atMost(ratios.cpu_vs_benthos, 1.0),
      batch_cpu_vs_benthos: atMost(ratios.batch_cpu_vs_benthos, 1.5),
      producer_cpu_vs_http: atMost(ratios.producer_cpu_vs_http, 2.5),
      traced_cpu_vs_untraced: atMost(ratios.traced_cpu_vs_untraced, 1.5),
      sampled10_cpu_vs_untraced: atMost(ratios.sampled10_cpu_vs_untraced, 1.15),
      vs_benthos: atLeast(ratios.vs_benthos, 1.0),
      vs_fastapi: atLeast(ratios.vs_fastapi, 3),
      batch_vs_benthos: atLeast(ratios.batch_vs_benthos, 1.2),
      traced_vs_benthos: atLeast(ratios.traced_vs_benthos, 1.0),
      batch_traced_vs_benthos: atLeast(ratios.batch_traced_vs_benthos, 1.0),
      batch_vs_fastapi: atLeast(ratios.batch_vs_fastapi, 4),
      telemetry_throughput_ratio: atLeast(ratios.telemetry_throughput_ratio, 0.7),
      sampled10_telemetry_throughput_ratio: atLeast(ratios.sampled10_telemetry_throughput_ratio, 0.9),
      dropped_spans: goal('0 (no trace incomplete)', ratios.dropped_spans, (v) => v === 0),
      consumer_vs_kafka_consumer: atLeast(ratios.consumer_vs_kafka_consumer, 0.25),
      consumer_vs_kafkajs_limit: atLeast(ratios.consumer_vs_kafkajs_limit, 0.8),
      dropped_spans_producer: goal('0', ratios.dropped_spans_producer, (v) => v === 0),
      dropped_spans_consumer: goal('0', ratios.dropped_spans_consumer, (v) => v === 0),
      single_vs_http_ceiling: atLeast(ratios.single_vs_http_ceiling, 0.5),
      batch_vs_kafka_ceiling: atLeast(ratios.batch_vs_kafka_ceiling, 0.5),
      vs_strimzi_bridge: goal('> 1 (ahead of the bridge)', ratios.vs_strimzi_bridge, (v) => v > 1),
    },
    delivery: { accepted, in_kafka: inKafka, match: mismatched.length === 0, mismatched },
    differences: DIFFERENCES,
    peers,
    consumer,
    kafkaDown,
    baselines: baselines.map((baseline) => {
      const http = find(all, `${scenarioName(1, baseline.payloadBytes, true)}-http`, 'http');
      return http ? { ...baseline, http: http.closed, httpCpuMsPerRequest: http.cpuMsPerEvent } : baseline;
    }),
    scenarios: all,
  };
}

async function profileRun(ctx: Context): Promise<void> {
  const dir = path.join(BENCH_CACHE, 'profiles', ctx.runId);
  const summaries: ProfiledScenario[] = [];
  for (const scenario of ctx.plan.scenarios) {
    const topic = `bench-${ctx.runId}-${scenario.name}`;
    await createTopic(ctx.brokers, topic);
    const file = `producer-${scenario.name}.cpuprofile`;
    const spawned = performance.now();
    const producer = await startProducer(ctx, scenario, topic, [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${file}`,
    ]);
    const startUpMs = performance.now() - spawned;
    const cpu = cpuMeter(producer);
    let measured: LoadResult;
    try {
      ({ best: measured } = await closedLoop(
        pipelineTarget(ctx, scenario),
        scenario.connections,
        ctx.plan.closedSeconds,
        {
          onMeasured: cpu.mark,
        },
      ));
      progress(`  ${scenario.name} under --cpu-prof: ${describe(measured, scenario.eventsPerRequest)}`);
    } finally {
      // The profile is written when the producer exits after SIGTERM.
      await producer.stop();
    }
    const profile = readProfile(path.join(dir, file));
    const summary = summarizeProfile(profile, 25, startUpMs);
    await writeFile(path.join(dir, file.replace(/\.cpuprofile$/, '.folded')), foldedStacks(profile, startUpMs));
    summaries.push({
      scenario: scenario.name,
      telemetry: scenario.telemetry,
      eventsPerSecond: Math.round(measured.okPerSecond * scenario.eventsPerRequest),
      cpuMsPerEvent: cpu.perEvent(measured.ok * scenario.eventsPerRequest),
      summary,
      file: path.relative(REPO_ROOT, path.join(dir, file)),
      skipMs: Math.round(startUpMs),
    });
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, 'profile.json'), `${JSON.stringify(summaries, null, 2)}\n`);
  await writeProfileReport(path.join(RESULTS_DIR, 'profile.md'), summaries, {
    machine: machine(),
    versions: versions(),
  });
  progress(`profiles in ${path.relative(REPO_ROOT, dir)}; summary in bench/results/profile.md`);
}

async function main(): Promise<void> {
  const mode = parseMode(process.argv.slice(2));
  const plan = planFor(mode);
  const ports = benchPorts();
  const started = new Date();
  const runId = Date.now().toString(36);
  progress(
    `mode ${mode}: ${plan.scenarios.length} pipeline scenarios, ${plan.rounds} interleaved rounds of ${plan.closedSeconds} s per system, ` +
      `open model ${plan.openSeconds} s per rate; ports from ${ports.producer - 80} (BENCH_PORT_BASE)`,
  );

  let cluster: KafkaCluster | undefined;
  let jaeger: Jaeger | undefined;
  const registryDir = path.join(BENCH_CACHE, 'registry');
  let registryUrl: string | undefined;
  const cleanUp = async (): Promise<void> => {
    killAll();
    if (registryUrl) await stopRegistry(registryDir).catch(() => undefined);
    await jaeger?.stop().catch(() => undefined);
    await cluster?.destroy().catch(() => undefined);
  };
  process.once('SIGINT', () => {
    progress('interrupted; stopping what the run started');
    void cleanUp().finally(() => process.exit(130));
  });

  try {
    progress(`starting Kafka ${KAFKA_VERSION} on localhost:${ports.kafka}`);
    cluster = await startKafkaCluster({ name: 'bench', brokerPort: ports.kafka, fresh: true });
    if (plan.scenarios.some((scenario) => scenario.telemetry)) {
      progress(`starting Jaeger (OTLP/HTTP on ${ports.jaegerOtlpHttp})`);
      jaeger = await startJaeger({
        dir: path.join(BENCH_CACHE, 'jaeger'),
        ports: {
          otlpGrpc: ports.jaegerOtlpGrpc,
          otlpHttp: ports.jaegerOtlpHttp,
          query: ports.jaegerQuery,
          queryGrpc: ports.jaegerQueryGrpc,
          health: ports.jaegerHealth,
          metrics: ports.jaegerMetrics,
        },
      });
    }
    if (plan.scenarios.some((scenario) => scenario.schema)) {
      progress(`starting the schema registry (Apicurio, on ${ports.registry}) and pushing schemas/`);
      registryUrl = (await startBenchRegistry(registryDir, ports.registry, ports.registryManagement)).url;
    }
    const ctx: Context = { plan, ports, brokers: cluster.brokers, runId, jaeger, registryUrl };

    if (mode === 'profile') {
      await profileRun(ctx);
      return;
    }

    progress('baselines: kafka-producer-perf-test');
    const baselines = await runKafkaBaselines(ctx);
    const { peers, byShape } = await contendersOf(ctx);
    const scenarios: ScenarioResult[] = [];
    let index = 0;
    for (const [shape, contenders] of byShape) {
      index += 1;
      progress(`shape ${index}/${byShape.size}: ${shape}, ${ctx.plan.rounds} rounds of ${contenders.length} systems`);
      scenarios.push(...(await runShape(ctx, shape, contenders)));
    }
    progress(
      'consumer: ours beside a bare KafkaJS consumer and kafka-consumer-perf-test, through the batch100-200B-notel topic',
    );
    const consumer = await runConsumerBench(ctx, `bench-${ctx.runId}-pipeline-batch100-200B-notel`);
    progress('Kafka down: no system may answer 2xx for an event Kafka does not have');
    const kafkaDown = await checkKafkaDown(ctx, cluster, peers);

    const result = buildResult(plan, started, { baselines, scenarios, peers, consumer, kafkaDown });
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeReport(RESULTS_DIR, result);
    const readme = path.join(REPO_ROOT, 'README.md');
    if (plan.mode !== 'profile' && (await updateReadme(readme, result)))
      progress("updated the README's latest results");
    progress(`ratios: ${JSON.stringify(result.ratios)}`);
    progress(
      `delivery: accepted ${result.delivery.accepted}, in Kafka ${result.delivery.in_kafka}; ` +
        (result.delivery.match ? 'every scenario matches' : `MISMATCH in ${result.delivery.mismatched.join(', ')}`),
    );
    progress('wrote bench/results/latest.json, report.md and throughput-latency.svg');
    if (!result.delivery.match || result.kafkaDown.some((check) => !check.passed)) process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  killAll();
  process.exit(1);
});
