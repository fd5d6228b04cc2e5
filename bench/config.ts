// What a bench run is made of: its ports (a block of its own, so it runs beside a dev stack and
// other checkouts' tests), its mode and the scenarios each mode measures.

import path from 'node:path';

export interface BenchPorts {
  kafka: number;
  /** Our producer without telemetry; the variants measured beside it in the same rounds have their own. */
  producer: number;
  producerTraced: number;
  producerSampled: number;
  producerSchema: number;
  producerOneWorker: number;
  consumerMetrics: number;
  httpBaseline: number;
  bridge: number;
  benthos: number;
  benthosAdmin: number;
  benthosTraced: number;
  benthosTracedAdmin: number;
  fastapi: number;
  registry: number;
  registryManagement: number;
  jaegerOtlpGrpc: number;
  jaegerOtlpHttp: number;
  jaegerQuery: number;
  jaegerQueryGrpc: number;
  jaegerHealth: number;
  jaegerMetrics: number;
}

/**
 * Every port is BENCH_PORT_BASE (default 21100) plus an offset: Kafka +92 (its controller
 * +1092), producer +80 (traced +86, 10% sampled +87, with schemas +88, one process +91: the systems of a shape
 * run side by side), consumer metrics +64, the bare HTTP server +81, the bridge +82, Benthos +83
 * (its own endpoints +84; traced +89 and +90), the FastAPI peer +85, the schema registry +70
 * (management +71), Jaeger +2xx.
 */
export function benchPorts(env: Record<string, string | undefined> = process.env): BenchPorts {
  const raw = env.BENCH_PORT_BASE ?? '21100';
  const base = Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base > 64_000) {
    throw new Error(`BENCH_PORT_BASE must be an integer from 1024 to 64000, not '${raw}'`);
  }
  return {
    kafka: base + 92,
    producer: base + 80,
    producerTraced: base + 86,
    producerSampled: base + 87,
    producerSchema: base + 88,
    producerOneWorker: base + 91,
    consumerMetrics: base + 64,
    httpBaseline: base + 81,
    bridge: base + 82,
    benthos: base + 83,
    benthosAdmin: base + 84,
    benthosTraced: base + 89,
    benthosTracedAdmin: base + 90,
    fastapi: base + 85,
    registry: base + 70,
    registryManagement: base + 71,
    jaegerOtlpGrpc: base + 217,
    jaegerOtlpHttp: base + 218,
    jaegerQuery: base + 286,
    jaegerQueryGrpc: base + 285,
    jaegerHealth: base + 233,
    jaegerMetrics: base + 288,
  };
}

export type Mode = 'quick' | 'full' | 'profile';

export interface PipelineScenario {
  /** e.g. `batch100-200B`; with `-notel` when telemetry is off. */
  name: string;
  /** The load shape it is measured in, beside the other systems of that shape: `batch100-200B`. */
  shape: string;
  /**
   * Events of a type with a schema in the registry (Avro, `SCHEMAS_REQUIRED=true`): checked
   * and encoded as the product's normal path does, instead of schema-less JSON.
   */
  schema?: boolean;
  /** PRODUCER_WORKERS; absent: the default, one worker per core. */
  workers?: number;
  eventsPerRequest: number;
  /** Size of each event's `data` as JSON, which is the Kafka record's value. */
  payloadBytes: number;
  telemetry: boolean;
  /** With telemetry: the share of traces sampled (parentbased_traceidratio); absent: every trace. */
  sampleRatio?: number;
  /** Closed-loop connections (each keeps one request in flight). */
  connections: number;
  /** Fractions of this scenario's closed-loop ceiling to offer in the open model; none: closed loop only, no consumer. */
  openFractions: number[];
}

export interface Plan {
  mode: Mode;
  /** Length of one measured closed-loop run. */
  closedSeconds: number;
  /**
   * Rounds per shape: each round runs every system of the shape once, one after the other, so
   * ratios are taken within a round; the report gives the median and range of the rounds.
   */
  rounds: number;
  openSeconds: number;
  /** Payload sizes of the baselines (bare HTTP, Kafka's producer, the bridge). */
  payloads: number[];
  kafkaPerfRecords: number;
  scenarios: PipelineScenario[];
}

const OPEN = [0.5, 0.75, 0.9];

function connectionsFor(eventsPerRequest: number): number {
  if (eventsPerRequest >= 100) return 16;
  if (eventsPerRequest >= 10) return 32;
  return 64;
}

export function scenarioName(eventsPerRequest: number, payloadBytes: number, telemetry: boolean): string {
  const shape = eventsPerRequest === 1 ? 'single' : `batch${eventsPerRequest}`;
  const size = payloadBytes >= 1024 ? `${payloadBytes / 1024}KB` : `${payloadBytes}B`;
  return `${shape}-${size}${telemetry ? '' : '-notel'}`;
}

export function shapeName(eventsPerRequest: number, payloadBytes: number): string {
  return scenarioName(eventsPerRequest, payloadBytes, true);
}

function scenario(eventsPerRequest: number, payloadBytes: number, telemetry: boolean, open: boolean): PipelineScenario {
  return {
    name: scenarioName(eventsPerRequest, payloadBytes, telemetry),
    shape: shapeName(eventsPerRequest, payloadBytes),
    eventsPerRequest,
    payloadBytes,
    telemetry,
    connections: connectionsFor(eventsPerRequest),
    openFractions: open ? OPEN : [],
  };
}

/**
 * Telemetry off, events of a type with an Avro schema in the registry and SCHEMAS_REQUIRED=true,
 * in the shape of the plain `payloadBytes` events it is measured beside.
 */
function withSchema(eventsPerRequest: number, payloadBytes: number): PipelineScenario {
  const base = scenario(eventsPerRequest, payloadBytes, false, false);
  const requests = eventsPerRequest === 1 ? 'single' : `batch${eventsPerRequest}`;
  return { ...base, name: `${requests}-avro-notel`, schema: true };
}

/** Telemetry off, one process (PRODUCER_WORKERS=1): the cost per event of one event loop, as the bare server's. */
function oneWorker(eventsPerRequest: number, payloadBytes: number): PipelineScenario {
  const base = scenario(eventsPerRequest, payloadBytes, false, false);
  return { ...base, name: `${base.name}-1worker`, workers: 1 };
}

/**
 * Telemetry on, with 10% of the traces sampled: what tracing costs when it is sampled. With the
 * consumer's run after the rounds too, so that its dropped spans are counted under this sampler.
 */
function sampled(eventsPerRequest: number, payloadBytes: number): PipelineScenario {
  const base = scenario(eventsPerRequest, payloadBytes, true, true);
  return { ...base, name: `${base.name}-sampled10`, sampleRatio: 0.1 };
}

export function planFor(mode: Mode): Plan {
  if (mode === 'quick') {
    return {
      mode,
      closedSeconds: 3,
      rounds: 2,
      openSeconds: 2,
      payloads: [200],
      kafkaPerfRecords: 500_000,
      scenarios: [
        scenario(1, 200, true, true),
        scenario(1, 200, false, false),
        sampled(1, 200),
        withSchema(1, 200),
        oneWorker(1, 200),
        scenario(100, 200, true, true),
        scenario(100, 200, false, false),
        withSchema(100, 200),
      ],
    };
  }
  if (mode === 'profile') {
    return {
      mode,
      closedSeconds: 10,
      rounds: 1,
      openSeconds: 0,
      payloads: [200],
      kafkaPerfRecords: 0,
      scenarios: [
        scenario(1, 200, true, false),
        scenario(1, 200, false, false),
        sampled(1, 200),
        withSchema(1, 200),
        scenario(100, 200, true, false),
        scenario(100, 200, false, false),
      ],
    };
  }
  const scenarios: PipelineScenario[] = [];
  for (const payloadBytes of [200, 1024]) {
    for (const eventsPerRequest of [1, 10, 100]) {
      scenarios.push(scenario(eventsPerRequest, payloadBytes, true, true));
      scenarios.push(scenario(eventsPerRequest, payloadBytes, false, false));
      if (payloadBytes === 200 && eventsPerRequest !== 10) {
        scenarios.push(sampled(eventsPerRequest, payloadBytes));
        scenarios.push(withSchema(eventsPerRequest, payloadBytes));
        if (eventsPerRequest === 1) scenarios.push(oneWorker(eventsPerRequest, payloadBytes));
      }
    }
  }
  return {
    mode,
    closedSeconds: 5,
    rounds: 3,
    openSeconds: 5,
    payloads: [200, 1024],
    kafkaPerfRecords: 500_000,
    scenarios,
  };
}

/** One event's `data`: a JSON object whose serialisation is exactly `bytes` long (at least 12). */
export function eventData(bytes: number): Record<string, string> {
  const empty = JSON.stringify({ pad: '' }).length;
  return { pad: 'x'.repeat(Math.max(0, bytes - empty)) };
}

/** The request body of a scenario: one plain event, or a JSON array of them. */
export function requestBody(eventsPerRequest: number, payloadBytes: number): string {
  const event = { type: 'bench.measured', data: eventData(payloadBytes) };
  return JSON.stringify(eventsPerRequest === 1 ? event : Array.from({ length: eventsPerRequest }, () => event));
}

/** The registered type the schema scenarios send (Avro, from schemas/), and its data. */
export const SCHEMA_EVENT_TYPE = 'com.example.payment.authorized';

export function schemaEventData(n: number): Record<string, unknown> {
  return { paymentId: `p-${n}`, orderId: `o-${n}`, amountCents: 9950 + n, currency: 'EUR', method: 'CARD' };
}

/** The request body of a schema scenario: events of the registered type, one or a JSON array. */
export function schemaRequestBody(eventsPerRequest: number): string {
  const events = Array.from({ length: eventsPerRequest }, (_, n) => ({
    type: SCHEMA_EVENT_TYPE,
    data: schemaEventData(n),
  }));
  return JSON.stringify(eventsPerRequest === 1 ? events[0] : events);
}

/** A build that `bench/producer-compare.ts` or `consumer-compare.ts` runs: a repository root and its settings. */
export interface CompareBuild {
  name: string;
  root: string;
  env: Record<string, string>;
}

/**
 * The compare scripts' command line: `<name>=<repo root>[,VAR=value...]` per build (a value may
 * hold `=` itself: `NODE_OPTIONS=--flag=1`) and `--<option> <number>`.
 */
export function compareArgs(args: readonly string[]): {
  builds: CompareBuild[];
  option(name: string, fallback: number): number;
} {
  const split = (text: string): [string, string] => {
    const at = text.indexOf('=');
    return [text.slice(0, at), text.slice(at + 1)];
  };
  const builds = args
    .filter((arg) => arg.includes('='))
    .map((arg) => {
      const [name, value] = split(arg);
      const [root = '', ...settings] = value.split(',');
      return { name, root: path.resolve(root), env: Object.fromEntries(settings.map(split)) };
    });
  return {
    builds,
    option(name, fallback) {
      const at = args.indexOf(`--${name}`);
      return at >= 0 ? Number(args[at + 1]) : fallback;
    },
  };
}
