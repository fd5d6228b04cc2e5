// What a bench run is made of: its ports (a block of its own, so it runs beside a dev stack and
// other checkouts' tests), its mode and the scenarios each mode measures.

export interface BenchPorts {
  kafka: number;
  producer: number;
  consumerMetrics: number;
  httpBaseline: number;
  bridge: number;
  benthos: number;
  benthosAdmin: number;
  fastapi: number;
  jaegerOtlpGrpc: number;
  jaegerOtlpHttp: number;
  jaegerQuery: number;
  jaegerQueryGrpc: number;
  jaegerHealth: number;
  jaegerMetrics: number;
}

/**
 * Every port is BENCH_PORT_BASE (default 21100) plus an offset: Kafka +92 (its controller
 * +1092), producer +80, consumer metrics +64, the bare HTTP server +81, the bridge +82, Benthos +83
 * (its own endpoints +84), the FastAPI peer +85, Jaeger +2xx.
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
    consumerMetrics: base + 64,
    httpBaseline: base + 81,
    bridge: base + 82,
    benthos: base + 83,
    benthosAdmin: base + 84,
    fastapi: base + 85,
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
  /** Length of one measured closed-loop run; the best of `closedRepeats` runs counts. */
  closedSeconds: number;
  closedRepeats: number;
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

function scenario(eventsPerRequest: number, payloadBytes: number, telemetry: boolean, open: boolean): PipelineScenario {
  return {
    name: scenarioName(eventsPerRequest, payloadBytes, telemetry),
    eventsPerRequest,
    payloadBytes,
    telemetry,
    connections: connectionsFor(eventsPerRequest),
    openFractions: open ? OPEN : [],
  };
}

/** Telemetry on, with 10% of the traces sampled: what tracing costs when it is sampled. */
function sampled(eventsPerRequest: number, payloadBytes: number): PipelineScenario {
  const base = scenario(eventsPerRequest, payloadBytes, true, false);
  return { ...base, name: `${base.name}-sampled10`, sampleRatio: 0.1 };
}

export function planFor(mode: Mode): Plan {
  if (mode === 'quick') {
    return {
      mode,
      closedSeconds: 3,
      closedRepeats: 2,
      openSeconds: 2,
      payloads: [200],
      kafkaPerfRecords: 500_000,
      scenarios: [
        scenario(1, 200, true, true),
        scenario(1, 200, false, false),
        sampled(1, 200),
        scenario(100, 200, true, true),
        scenario(100, 200, false, false),
      ],
    };
  }
  if (mode === 'profile') {
    return {
      mode,
      closedSeconds: 10,
      closedRepeats: 1,
      openSeconds: 0,
      payloads: [200],
      kafkaPerfRecords: 0,
      scenarios: [
        scenario(1, 200, true, false),
        scenario(1, 200, false, false),
        sampled(1, 200),
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
      if (payloadBytes === 200 && eventsPerRequest !== 10) scenarios.push(sampled(eventsPerRequest, payloadBytes));
    }
  }
  return {
    mode,
    closedSeconds: 5,
    closedRepeats: 3,
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
