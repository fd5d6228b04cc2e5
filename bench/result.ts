// The shape of bench/results/latest.json (schema 1), shared by the run and its report.
import type { Mode } from './config';
import type { KafkaPerfResult } from './kafka-perf';
import type { LoadResult, OpenResult } from './load';

export interface EndToEnd {
  events: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ScenarioResult {
  name: string;
  system: 'pipeline' | 'bridge';
  telemetry: boolean;
  sampleRatio?: number;
  eventsPerRequest: number;
  payloadBytes: number;
  connections: number;
  /** The ceiling of ingestion: the closed loop with no consumer running (as Kafka's perf test runs). */
  closed: LoadResult & { eventsPerSecond: number };
  /** CPU time (user + system) the producer (or the bridge) spent per event in the measured closed loop. */
  cpuMsPerEvent: number | null;
  /** The closed loop again with the consumer running: what the open model's fractions are of. */
  closedWithConsumer: (LoadResult & { eventsPerSecond: number }) | null;
  open: (OpenResult & { fraction: number; eventsPerSecond: number })[];
  /** Acceptance to processed, of the events sent in the closed loop (a backlog) and in the open model. */
  endToEnd: { closed: EndToEnd; open: EndToEnd | null };
  delivery: { accepted: number; inKafka: number };
  errors: number;
  /** Spans the OpenTelemetry batch span processors dropped with a full queue (warnings in the logs). */
  droppedSpans: { producer: number; consumer: number };
}

export interface BaselineResult {
  payloadBytes: number;
  http: LoadResult;
  /** CPU time of the bare server per request over its measured runs. */
  httpCpuMsPerRequest: number | null;
  kafka: KafkaPerfResult | null;
}

export interface BenchResult {
  schema: 1;
  mode: Mode;
  command: string;
  started: string;
  finished: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  ratios: {
    single_vs_http_ceiling: number | null;
    batch_vs_kafka_ceiling: number | null;
    telemetry_throughput_ratio: number | null;
    vs_strimzi_bridge: number | null;
  };
  ratioDetails: Record<string, number | null | string>;
  goals: Record<string, { goal: string; value: number | null; met: boolean | null }>;
  delivery: { accepted: number; in_kafka: number; match: boolean };
  peer: { name: string; version: string; status: 'measured' | 'blocked'; reason?: string };
  baselines: BaselineResult[];
  scenarios: ScenarioResult[];
}
