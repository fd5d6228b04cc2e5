// npm run bench [-- --quick | --profile]: every figure is measured side by side in one run on
// this machine and reported as a ratio against a limit or a peer (docs/benchmarks.md).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startJaeger, type Jaeger } from '../scripts/jaeger/jaeger';
import { KAFKA_VERSION, startKafkaCluster, type KafkaCluster } from '../scripts/kafka/cluster';
import { BRIDGE_CONTENT_TYPE, BRIDGE_VERSION, bridgeBody, ensureBridgeJars, startBridge } from './bridge';
import {
  benchPorts,
  eventData,
  planFor,
  requestBody,
  scenarioName,
  type BenchPorts,
  type Mode,
  type PipelineScenario,
  type Plan,
} from './config';
import { runKafkaConsumerPerf, runKafkaPerf } from './kafka-perf';
import { closedLoop, openLoop, type LoadResult, type Target } from './load';
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
  EndToEnd,
  KafkaDownCheck,
  PeerInfo,
  ScenarioResult,
} from './result';
import { histogramQuantile, parseHistogram, ratio, round, sumSamples, type HistogramBucket } from './stats';

export const RESULTS_DIR = path.join(__dirname, 'results');
const PARTITIONS = 6;
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

/**
 * Reads a child's CPU time at the start and end of the measured run: its own (`cpuMs`), or with
 * its descendants' for a peer that runs in several processes (`treeCpuMs`).
 */
function cpuMeter(
  child: Child,
  read: (pid: number | undefined) => number | undefined = cpuMs,
): {
  mark: (phase: 'start' | 'end') => void;
  perEvent: (events: number) => number | null;
} {
  const at: Partial<Record<'start' | 'end', number>> = {};
  return {
    mark: (phase) => (at[phase] = read(child.process.pid)),
    perEvent: (events) =>
      at.start === undefined || at.end === undefined || events === 0 ? null : round((at.end - at.start) / events),
  };
}

/** Spans the SDK's batch span processor dropped, as its warnings in the service's log say. */
function droppedSpans(child: Child): number {
  let text: string;
  try {
    text = readFileSync(child.logFile, 'utf8');
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
  };
}

async function startProducer(
  ctx: Context,
  scenario: PipelineScenario,
  topic: string,
  nodeFlags: string[] = [],
): Promise<Child> {
  const producer = startService('producer', `producer-${scenario.name}`, {
    telemetry: scenario.telemetry,
    nodeFlags,
    env: { ...serviceEnv(ctx, topic, scenario), PORT: String(ctx.ports.producer), HOST: '127.0.0.1' },
  });
  await waitReady(producer, `http://127.0.0.1:${ctx.ports.producer}/health/ready`);
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

function pipelineTarget(ctx: Context, scenario: PipelineScenario): Target {
  return {
    url: `http://127.0.0.1:${ctx.ports.producer}/events`,
    headers: { 'content-type': 'application/json' },
    body: requestBody(scenario.eventsPerRequest, scenario.payloadBytes),
  };
}

/**
 * The closed loop runs with no consumer, as kafka-producer-perf-test and the bare server run
 * alone: the ceiling is ingestion's. The consumer starts after it (its end-to-end latency of
 * the closed loop's events is a backlog) and runs through the open model, whose end-to-end
 * latency is the pipeline's.
 */
async function runPipelineScenario(ctx: Context, scenario: PipelineScenario): Promise<ScenarioResult> {
  const topic = `bench-${ctx.runId}-${scenario.name}`;
  await createTopic(ctx.brokers, topic);
  const producer = await startProducer(ctx, scenario, topic);
  let consumer: Child | undefined;
  const metricsUrl = `http://127.0.0.1:${ctx.ports.consumerMetrics}/metrics`;
  const epr = scenario.eventsPerRequest;
  try {
    const target = pipelineTarget(ctx, scenario);
    const cpu = cpuMeter(producer);
    const closed = await closedLoop(target, scenario.connections, ctx.plan.closedSeconds, {
      repeats: ctx.plan.closedRepeats,
      onMeasured: cpu.mark,
    });
    const measured = closed.best;
    const cpuMsPerEvent = cpu.perEvent(answered(closed.runs) * epr);
    progress(`  ${scenario.name} closed loop: ${describe(measured, epr)}, producer CPU ${cpuMsPerEvent} ms/event`);
    let accepted = answered([...closed.runs, ...closed.warmups]) * epr;
    // Scenarios without an open model measure ingestion only; they need no consumer.
    const consumes = scenario.openFractions.length > 0;
    if (consumes) consumer = await startConsumer(ctx, scenario, topic);
    const afterClosed = consumes ? await drained(metricsUrl, await recordsInTopic(ctx.brokers, topic), 120_000) : [];

    // The open model's rates are fractions of what the whole pipeline sustains: the closed loop
    // again, now with the consumer (and its telemetry) sharing the machine.
    let withConsumer: LoadResult | undefined;
    let beforeOpen = afterClosed;
    if (consumes) {
      const again = await closedLoop(target, scenario.connections, ctx.plan.closedSeconds);
      withConsumer = again.best;
      accepted += answered([...again.runs, ...again.warmups]) * epr;
      progress(`  ${scenario.name} closed loop with the consumer running: ${describe(withConsumer, epr)}`);
      beforeOpen = await drained(metricsUrl, await recordsInTopic(ctx.brokers, topic), 120_000);
    }
    const open: ScenarioResult['open'] = [];
    for (const fraction of scenario.openFractions) {
      const rate = Math.max(1, Math.round((withConsumer ?? measured).okPerSecond * fraction));
      const result = await openLoop(target, rate, ctx.plan.openSeconds);
      accepted += result.ok * epr;
      open.push({ ...result, fraction, eventsPerSecond: result.okPerSecond * epr });
      progress(
        `  ${scenario.name} open model at ${Math.round(fraction * 100)}% (${rate} req/s): ${describe(result, epr)}`,
      );
    }
    const inKafka = await recordsInTopic(ctx.brokers, topic);
    const afterOpen = open.length > 0 ? await drained(metricsUrl, inKafka, 120_000) : beforeOpen;
    const result: ScenarioResult = {
      name: scenario.name,
      system: 'pipeline',
      telemetry: scenario.telemetry,
      ...(scenario.sampleRatio === undefined ? {} : { sampleRatio: scenario.sampleRatio }),
      eventsPerRequest: epr,
      payloadBytes: scenario.payloadBytes,
      connections: scenario.connections,
      closed: { ...measured, eventsPerSecond: measured.okPerSecond * epr },
      cpuMsPerEvent,
      open,
      closedWithConsumer: withConsumer ? { ...withConsumer, eventsPerSecond: withConsumer.okPerSecond * epr } : null,
      endToEnd: { closed: endToEnd(afterClosed), open: open.length > 0 ? endToEnd(afterOpen, beforeOpen) : null },
      delivery: { accepted, inKafka },
      errors: loadErrors([...closed.runs, ...closed.warmups, ...open]),
      droppedSpans: { producer: 0, consumer: 0 },
    };
    await Promise.all([producer.stop(), consumer?.stop()]);
    // Spans are exported on flush at exit too, so the count is complete only now.
    result.droppedSpans = { producer: droppedSpans(producer), consumer: consumer ? droppedSpans(consumer) : 0 };
    const e2e = result.endToEnd.open;
    const dropped = result.droppedSpans.producer + result.droppedSpans.consumer;
    progress(
      `  ${scenario.name}: accepted ${accepted}, in Kafka ${inKafka}${accepted === inKafka ? '' : ' MISMATCH'}` +
        (e2e ? `; end-to-end in the open model p50 ${e2e.p50Ms} ms, p99 ${e2e.p99Ms} ms` : '') +
        (dropped > 0 ? `; the span processors dropped ${dropped} spans (queue full)` : ''),
    );
    return result;
  } finally {
    await Promise.all([producer.stop(), consumer?.stop()]);
  }
}

async function runBaselines(ctx: Context): Promise<BaselineResult[]> {
  const results: BaselineResult[] = [];
  const server = startChild('http-baseline', process.execPath, [
    '--import',
    'tsx',
    path.join(__dirname, 'http-baseline.ts'),
    String(ctx.ports.httpBaseline),
  ]);
  try {
    await waitReady(server, `http://127.0.0.1:${ctx.ports.httpBaseline}/`);
    for (const payloadBytes of ctx.plan.payloads) {
      const target: Target = {
        url: `http://127.0.0.1:${ctx.ports.httpBaseline}/events`,
        headers: { 'content-type': 'application/json' },
        body: requestBody(1, payloadBytes),
      };
      const cpu = cpuMeter(server);
      const closed = await closedLoop(target, 64, ctx.plan.closedSeconds, {
        repeats: ctx.plan.closedRepeats,
        onMeasured: cpu.mark,
      });
      const measured = closed.best;
      const cpuMsPerRequest = cpu.perEvent(answered(closed.runs));
      progress(`  bare node:http, ${payloadBytes} B: ${describe(measured, 1)}, CPU ${cpuMsPerRequest} ms/request`);
      results.push({ payloadBytes, http: measured, httpCpuMsPerRequest: cpuMsPerRequest, kafka: null });
    }
  } finally {
    await server.stop();
  }
  for (const result of results) {
    const topic = `bench-${ctx.runId}-perf-${result.payloadBytes}`;
    await createTopic(ctx.brokers, topic);
    // Best of as many runs as the closed loop has, for the same reason: interference only slows a run.
    for (let run = 0; run < ctx.plan.closedRepeats; run++) {
      const perf = await runKafkaPerf({
        brokers: ctx.brokers.join(','),
        topic,
        records: ctx.plan.kafkaPerfRecords,
        recordBytes: result.payloadBytes,
      });
      progress(
        `  kafka-producer-perf-test, ${result.payloadBytes} B, acks=all: ${Math.round(perf.recordsPerSecond)} records/s, ` +
          `p50 ${perf.latencyMs.p50} ms, p99 ${perf.latencyMs.p99} ms`,
      );
      if (!result.kafka || perf.recordsPerSecond > result.kafka.recordsPerSecond) result.kafka = perf;
    }
  }
  return results;
}

/** One peer of the bench: how to start it on a topic, and the request it takes for a shape's events. */
interface PeerSpec {
  info: PeerInfo;
  /** With its own tracing on; its scenarios are named as ours (`-notel` without). */
  telemetry: boolean;
  start(topic: string): Promise<Child>;
  target(topic: string, shape: PipelineScenario): Target;
}

/** The shapes every peer is measured in: each of the plan's payloads and request sizes once. */
function peerShapes(plan: Plan): PipelineScenario[] {
  return plan.scenarios.filter((scenario) => scenario.telemetry && scenario.sampleRatio === undefined);
}

function eventsTarget(port: number, shape: PipelineScenario): Target {
  return {
    url: `http://127.0.0.1:${port}/events`,
    headers: { 'content-type': 'application/json' },
    body: requestBody(shape.eventsPerRequest, shape.payloadBytes),
  };
}

/** Each shape on a fresh topic, the peer started for it and stopped after; CPU of all its processes. */
async function runPeer(ctx: Context, spec: PeerSpec): Promise<ScenarioResult[]> {
  const scenarios: ScenarioResult[] = [];
  for (const shape of peerShapes(ctx.plan)) {
    const name = scenarioName(shape.eventsPerRequest, shape.payloadBytes, spec.telemetry);
    const topic = `bench-${ctx.runId}-${spec.info.system}-${name}`;
    await createTopic(ctx.brokers, topic);
    const child = await spec.start(topic);
    try {
      const cpu = cpuMeter(child, treeCpuMs);
      const closed = await closedLoop(spec.target(topic, shape), shape.connections, ctx.plan.closedSeconds, {
        repeats: ctx.plan.closedRepeats,
        onMeasured: cpu.mark,
      });
      const measured = closed.best;
      const epr = shape.eventsPerRequest;
      const accepted = answered([...closed.runs, ...closed.warmups]) * epr;
      const inKafka = await recordsInTopic(ctx.brokers, topic);
      const cpuMsPerEvent = cpu.perEvent(answered(closed.runs) * epr);
      progress(
        `  ${spec.info.system} ${name}: ${describe(measured, epr)}, CPU ${cpuMsPerEvent} ms/event; ` +
          `accepted ${accepted}, in Kafka ${inKafka}${accepted === inKafka ? '' : ' MISMATCH'}`,
      );
      scenarios.push({
        name,
        system: spec.info.system,
        telemetry: spec.telemetry,
        eventsPerRequest: epr,
        payloadBytes: shape.payloadBytes,
        connections: shape.connections,
        closed: { ...measured, eventsPerSecond: measured.okPerSecond * epr },
        cpuMsPerEvent,
        open: [],
        closedWithConsumer: null,
        endToEnd: { closed: { events: 0, p50Ms: null, p99Ms: null }, open: null },
        delivery: { accepted, inKafka },
        errors: loadErrors([...closed.runs, ...closed.warmups]),
        droppedSpans: { producer: 0, consumer: 0 },
      });
    } finally {
      await child.stop();
    }
  }
  return scenarios;
}

const BENTHOS_SETUP =
  'http_server input answering after the kafka_franz output acknowledged every record of the request ' +
  '(idempotent_write, so acks=all; max_in_flight 256); batch requests split with unarchive json_array';
const FASTAPI_SETUP =
  'pydantic-checked events, AIOKafkaProducer(acks="all", enable_idempotence=True), 202 after every send ' +
  'of the request was awaited; uvicorn[standard], one worker per core, access log off';

/** Benthos (telemetry off, then with its OTLP tracer to the same Jaeger) and the FastAPI stack. */
async function runPeers(ctx: Context): Promise<{ peers: PeerInfo[]; scenarios: ScenarioResult[] }> {
  const peers: PeerInfo[] = [];
  const scenarios: ScenarioResult[] = [];
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
  try {
    const binary = await ensureBenthos();
    const start = (otlpHttpEndpoint?: string) => (topic: string) =>
      startBenthos(binary, {
        brokers: ctx.brokers.join(','),
        topic,
        port: ctx.ports.benthos,
        adminPort: ctx.ports.benthosAdmin,
        ...(otlpHttpEndpoint ? { otlpHttpEndpoint } : {}),
      });
    const target = (_topic: string, shape: PipelineScenario) => eventsTarget(ctx.ports.benthos, shape);
    scenarios.push(...(await runPeer(ctx, { info: benthosInfo, telemetry: false, start: start(), target })));
    if (ctx.jaeger) {
      const otlp = ctx.jaeger.otlpHttpEndpoint;
      scenarios.push(...(await runPeer(ctx, { info: benthosInfo, telemetry: true, start: start(otlp), target })));
    }
    peers.push(benthosInfo);
  } catch (error) {
    blocked(benthosInfo, error);
  }
  const versions = fastapiVersions();
  const fastapiInfo: PeerInfo = {
    system: 'fastapi',
    name: 'FastAPI + uvicorn + aiokafka',
    version: `FastAPI ${versions.fastapi}, uvicorn ${versions.uvicorn}, aiokafka ${versions.aiokafka}`,
    status: 'measured',
    setup: FASTAPI_SETUP,
  };
  progress(`peer: ${fastapiInfo.name} (${fastapiInfo.version})`);
  try {
    const bin = await ensureFastapiVenv();
    scenarios.push(
      ...(await runPeer(ctx, {
        info: fastapiInfo,
        telemetry: false,
        start: (topic) => startFastapi(bin, { brokers: ctx.brokers.join(','), topic, port: ctx.ports.fastapi }),
        target: (_topic, shape) => eventsTarget(ctx.ports.fastapi, shape),
      })),
    );
    peers.push(fastapiInfo);
  } catch (error) {
    blocked(fastapiInfo, error);
  }
  const bridge = await runBridge(ctx);
  peers.push(bridge.peer);
  scenarios.push(...bridge.scenarios);
  return { peers, scenarios };
}

async function runBridge(ctx: Context): Promise<{ peer: PeerInfo; scenarios: ScenarioResult[] }> {
  const peer: PeerInfo = {
    system: 'bridge',
    name: 'Strimzi Kafka Bridge',
    version: BRIDGE_VERSION,
    status: 'measured',
    setup: 'kafka.producer.acks=all, enable.idempotence=true',
  };
  progress(`peer: Strimzi Kafka Bridge ${BRIDGE_VERSION}`);
  let libs: string;
  try {
    libs = await ensureBridgeJars();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    progress(`  the bridge is left out: ${reason}`);
    return { peer: { ...peer, status: 'blocked', reason: `not served here: ${reason}` }, scenarios: [] };
  }
  const scenarios = await runPeer(ctx, {
    info: peer,
    telemetry: false,
    start: () => startBridge({ libs, brokers: ctx.brokers.join(','), port: ctx.ports.bridge }),
    target: (topic, shape) => ({
      url: `http://127.0.0.1:${ctx.ports.bridge}/topics/${topic}`,
      headers: { 'content-type': BRIDGE_CONTENT_TYPE },
      body: bridgeBody(Array.from({ length: shape.eventsPerRequest }, () => eventData(shape.payloadBytes))),
    }),
  });
  return { peer, scenarios };
}

/**
 * Our consumer (default handler, telemetry off, a fresh group from the beginning) through a topic
 * the bench filled, beside Kafka's own kafka-consumer-perf-test on the same topic. Both rates
 * leave out joining the group: ours from its first processed event to its last, Kafka's its
 * fetch rate.
 */
async function runConsumerBench(ctx: Context, topic: string): Promise<ConsumerBench> {
  const records = await recordsInTopic(ctx.brokers, topic);
  const shape: PipelineScenario = { ...peerShapes(ctx.plan)[0]!, telemetry: false, name: 'consumer-bench' };
  const consumer = startService('consumer', 'consumer-bench', {
    telemetry: false,
    env: {
      ...serviceEnv(ctx, topic, shape),
      METRICS_PORT: String(ctx.ports.consumerMetrics),
      HOST: '127.0.0.1',
      CONSUMER_GROUP: `${topic}-consumer-bench`,
      DLQ_TOPIC: `${topic}.dlq`,
      FROM_BEGINNING: 'true',
    },
  });
  const metricsUrl = `http://127.0.0.1:${ctx.ports.consumerMetrics}/metrics`;
  let ours: ConsumerBench['ours'];
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
    ours = {
      eventsPerSecond: Math.round(events / seconds),
      cpuMsPerEvent:
        first.cpu === undefined || end.cpu === undefined || events === 0 ? null : round((end.cpu - first.cpu) / events),
      seconds: round(seconds) ?? seconds,
    };
  } finally {
    await consumer.stop();
  }
  progress(`  our consumer: ${ours.eventsPerSecond} events/s, CPU ${ours.cpuMsPerEvent} ms/event (${records} records)`);
  let kafka: ConsumerBench['kafka'] = null;
  for (let run = 0; run < ctx.plan.closedRepeats; run++) {
    const perf = await runKafkaConsumerPerf({
      brokers: ctx.brokers.join(','),
      topic,
      records,
      group: `${topic}-perf-${run}`,
    });
    progress(`  kafka-consumer-perf-test: ${Math.round(perf.recordsPerSecond)} records/s`);
    if (!kafka || perf.recordsPerSecond > kafka.recordsPerSecond) kafka = perf;
  }
  return { topic, records, ours, kafka };
}

/**
 * Kafka stopped under every system: ours, Benthos and the FastAPI stack each take one request
 * while the broker is down, and none may answer 2xx (an answer that Kafka has the event).
 */
async function checkKafkaDown(ctx: Context, cluster: KafkaCluster, peers: PeerInfo[]): Promise<KafkaDownCheck[]> {
  const topic = `bench-${ctx.runId}-kafka-down`;
  await createTopic(ctx.brokers, topic);
  const shape: PipelineScenario = {
    ...peerShapes(ctx.plan)[0]!,
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
  return {
    node: process.version,
    kafka: KAFKA_VERSION,
    kafkajs: packageVersion('kafkajs'),
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
  peerScenarios: ScenarioResult[];
  consumer: ConsumerBench | null;
  kafkaDown: KafkaDownCheck[];
}

function buildResult(plan: Plan, started: Date, measured: Measured): BenchResult {
  const { baselines, scenarios, peers, peerScenarios, consumer, kafkaDown } = measured;
  const all = [...scenarios, ...peerScenarios];
  const eps = (name: string, system: ScenarioResult['system'] = 'pipeline'): number | undefined =>
    find(all, name, system)?.closed.eventsPerSecond;
  const cpu = (name: string, system: ScenarioResult['system'] = 'pipeline'): number | undefined =>
    find(all, name, system)?.cpuMsPerEvent ?? undefined;
  const http200 = baselines.find((baseline) => baseline.payloadBytes === 200);
  const kafka200 = http200?.kafka?.recordsPerSecond;
  const kafka1k = baselines.find((baseline) => baseline.payloadBytes === 1024)?.kafka?.recordsPerSecond;
  const vs = (name: string, system: ScenarioResult['system']) => round(ratio(eps(name), eps(name, system)));
  const droppedTotal = scenarios.reduce(
    (sum, scenario) => sum + scenario.droppedSpans.producer + scenario.droppedSpans.consumer,
    0,
  );
  const ratios = {
    vs_benthos: vs('single-200B-notel', 'benthos'),
    batch_vs_benthos: vs('batch100-200B-notel', 'benthos'),
    traced_vs_benthos: vs('single-200B', 'benthos'),
    batch_traced_vs_benthos: vs('batch100-200B', 'benthos'),
    vs_fastapi: vs('single-200B-notel', 'fastapi'),
    batch_vs_fastapi: vs('batch100-200B-notel', 'fastapi'),
    producer_cpu_vs_http: round(ratio(cpu('single-200B-notel'), http200?.httpCpuMsPerRequest ?? undefined)),
    telemetry_throughput_ratio: round(ratio(eps('single-200B'), eps('single-200B-notel'))),
    sampled10_telemetry_throughput_ratio: round(ratio(eps('single-200B-sampled10'), eps('single-200B-notel'))),
    dropped_spans: droppedTotal,
    consumer_vs_kafka_consumer: round(ratio(consumer?.ours.eventsPerSecond, consumer?.kafka?.recordsPerSecond)),
    single_vs_http_ceiling: round(ratio(eps('single-200B'), http200?.http.okPerSecond)),
    batch_vs_kafka_ceiling: round(ratio(eps('batch100-200B'), kafka200)),
    vs_strimzi_bridge: vs('single-200B-notel', 'bridge'),
  };
  const ratioDetails: BenchResult['ratioDetails'] = {
    single_notel_vs_http_ceiling: round(ratio(eps('single-200B-notel'), http200?.http.okPerSecond)),
    batch_notel_vs_kafka_ceiling: round(ratio(eps('batch100-200B-notel'), kafka200)),
    batch_telemetry_throughput_ratio: round(ratio(eps('batch100-200B'), eps('batch100-200B-notel'))),
    batch_sampled10_telemetry_throughput_ratio: round(
      ratio(eps('batch100-200B-sampled10'), eps('batch100-200B-notel')),
    ),
    telemetry_cpu_per_event_ratio: round(ratio(cpu('single-200B-notel'), cpu('single-200B'))),
    batch_telemetry_cpu_per_event_ratio: round(ratio(cpu('batch100-200B-notel'), cpu('batch100-200B'))),
    batch_1KB_vs_kafka_ceiling: round(ratio(eps('batch100-1KB'), kafka1k)),
    single_1KB_vs_benthos: vs('single-1KB-notel', 'benthos'),
    batch10_vs_benthos: vs('batch10-200B-notel', 'benthos'),
    batch10_vs_fastapi: vs('batch10-200B-notel', 'fastapi'),
    // CPU per event, the figure a shared machine disturbs least: the peer's over ours.
    benthos_cpu_vs_ours: round(ratio(cpu('single-200B-notel', 'benthos'), cpu('single-200B-notel'))),
    batch_benthos_cpu_vs_ours: round(ratio(cpu('batch100-200B-notel', 'benthos'), cpu('batch100-200B-notel'))),
    fastapi_cpu_vs_ours: round(ratio(cpu('single-200B-notel', 'fastapi'), cpu('single-200B-notel'))),
    batch_fastapi_cpu_vs_ours: round(ratio(cpu('batch100-200B-notel', 'fastapi'), cpu('batch100-200B-notel'))),
    consumer_cpu_ms_per_event: consumer?.ours.cpuMsPerEvent ?? null,
    definitions:
      "vs_<peer>: our closed-loop events/s over the peer's, same shape, load and Kafka (notel: both without " +
      'telemetry; traced: ours fully traced against Benthos with its tracer on); producer_cpu_vs_http: our ' +
      "producer's CPU per one-event request without telemetry over the bare node:http server's; " +
      'telemetry ratios: with telemetry (all or 10% of traces) over OTEL_SDK_DISABLED=true; dropped_spans: spans ' +
      "the producer's and consumer's span processors dropped in all scenarios; consumer_vs_kafka_consumer: our " +
      "consumer's events/s (default handler) over kafka-consumer-perf-test's fetch rate on the same topic; " +
      "*_cpu_vs_ours: the peer's CPU per event (all its processes) over our producer's.",
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
  const accepted = all.reduce((sum, scenario) => sum + scenario.delivery.accepted, 0);
  const inKafka = all.reduce((sum, scenario) => sum + scenario.delivery.inKafka, 0);
  const finished = new Date();
  return {
    schema: 2,
    mode: plan.mode,
    command: plan.mode === 'full' ? 'npm run bench' : `npm run bench -- --${plan.mode}`,
    started: started.toISOString(),
    finished: finished.toISOString(),
    durationSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
    machine: machine(),
    versions: versions(),
    settings: {
      closedSeconds: plan.closedSeconds,
      closedRepeats: plan.closedRepeats,
      openSeconds: plan.openSeconds,
      openFractions: [0.5, 0.75, 0.9],
      partitions: PARTITIONS,
      kafkaPerfRecords: plan.kafkaPerfRecords,
      logLevel: 'warn',
      acks: 'all',
    },
    ratios,
    ratioDetails,
    goals: {
      vs_benthos: atLeast(ratios.vs_benthos, 1.2),
      batch_vs_benthos: atLeast(ratios.batch_vs_benthos, 1.2),
      traced_vs_benthos: atLeast(ratios.traced_vs_benthos, 1.0),
      batch_traced_vs_benthos: atLeast(ratios.batch_traced_vs_benthos, 1.0),
      vs_fastapi: atLeast(ratios.vs_fastapi, 4),
      batch_vs_fastapi: atLeast(ratios.batch_vs_fastapi, 4),
      producer_cpu_vs_http: goal('<= 2.5', ratios.producer_cpu_vs_http, (v) => v <= 2.5),
      telemetry_throughput_ratio: atLeast(ratios.telemetry_throughput_ratio, 0.7),
      sampled10_telemetry_throughput_ratio: atLeast(ratios.sampled10_telemetry_throughput_ratio, 0.9),
      dropped_spans: goal('0 (no trace incomplete)', ratios.dropped_spans, (v) => v === 0),
      consumer_vs_kafka_consumer: atLeast(ratios.consumer_vs_kafka_consumer, 0.5),
      single_vs_http_ceiling: atLeast(ratios.single_vs_http_ceiling, 0.5),
      batch_vs_kafka_ceiling: atLeast(ratios.batch_vs_kafka_ceiling, 0.5),
      vs_strimzi_bridge: goal('> 1 (ahead of the bridge)', ratios.vs_strimzi_bridge, (v) => v > 1),
    },
    delivery: { accepted, in_kafka: inKafka, match: accepted === inKafka },
    peers,
    consumer,
    kafkaDown,
    baselines,
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
    `mode ${mode}: ${plan.scenarios.length} pipeline scenarios, closed loop best of ${plan.closedRepeats} × ${plan.closedSeconds} s, ` +
      `open model ${plan.openSeconds} s per rate; ports from ${ports.producer - 80} (BENCH_PORT_BASE)`,
  );

  let cluster: KafkaCluster | undefined;
  let jaeger: Jaeger | undefined;
  const cleanUp = async (): Promise<void> => {
    killAll();
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
    const ctx: Context = { plan, ports, brokers: cluster.brokers, runId, jaeger };

    if (mode === 'profile') {
      await profileRun(ctx);
      return;
    }

    progress('baselines: bare node:http and kafka-producer-perf-test');
    const baselines = await runBaselines(ctx);
    const scenarios: ScenarioResult[] = [];
    for (const [i, scenario] of plan.scenarios.entries()) {
      progress(`pipeline ${i + 1}/${plan.scenarios.length}: ${scenario.name}`);
      scenarios.push(await runPipelineScenario(ctx, scenario));
    }
    const { peers, scenarios: peerScenarios } = await runPeers(ctx);
    progress('consumer: ours beside kafka-consumer-perf-test, through the batch100-200B-notel topic');
    const consumer = await runConsumerBench(ctx, `bench-${ctx.runId}-batch100-200B-notel`);
    progress('Kafka down: no system may answer 2xx for an event Kafka does not have');
    const kafkaDown = await checkKafkaDown(ctx, cluster, peers);

    const result = buildResult(plan, started, { baselines, scenarios, peers, peerScenarios, consumer, kafkaDown });
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeReport(RESULTS_DIR, result);
    const readme = path.join(REPO_ROOT, 'README.md');
    if (plan.mode !== 'profile' && (await updateReadme(readme, result)))
      progress("updated the README's latest results");
    progress(`ratios: ${JSON.stringify(result.ratios)}`);
    progress(
      `delivery: accepted ${result.delivery.accepted}, in Kafka ${result.delivery.in_kafka} ` +
        `(${result.delivery.match ? 'match' : 'MISMATCH'})`,
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
