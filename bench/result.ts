// The shape of bench/results/latest.json (schema 3), shared by the run and its report.
import type { Mode } from './config';
import type { KafkaPerfResult } from './kafka-perf';
import type { LoadResult, OpenResult } from './load';

export type System = 'pipeline' | 'benthos' | 'fastapi' | 'bridge' | 'http';

/** One measured closed-loop run: events/s and CPU per event from the same window. */
export interface RoundResult {
  round: number;
  eventsPerSecond: number;
  /** CPU time (user + system) of the system's whole process tree over this run, per event. */
  cpuMsPerEvent: number | null;
  latencyMs: LoadResult['latencyMs'];
  ok: number;
  errors: number;
  seconds: number;
  /** How long the run waited for the machine to go quiet before it started. */
  settledMs: number;
  /**
   * CPU ms the rest of the machine (Kafka serving this run included, niced work not) spent
   * during the run, beside the system's own and the load generator's.
   */
  othersCpuMs: number | null;
}

/** A figure over the rounds: the median, and the lowest and highest round. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface EndToEnd {
  events: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ScenarioResult {
  name: string;
  /** The load it was measured under, shared by every system of its group: `single-200B`, `batch100-200B`. */
  shape: string;
  /** Ours, or a peer doing the same work on the same Kafka under the same load. */
  system: System;
  telemetry: boolean;
  sampleRatio?: number;
  eventsPerRequest: number;
  payloadBytes: number;
  connections: number;
  /**
   * The ceiling of ingestion, the closed loop with no consumer running: the round of median
   * events/s. `rounds` holds every round, measured interleaved with the other systems of the shape.
   */
  closed: LoadResult & { eventsPerSecond: number };
  /** Median over the rounds of the CPU time per event (all the system's processes). */
  cpuMsPerEvent: number | null;
  rounds: RoundResult[];
  spread: { eventsPerSecond: Spread | null; cpuMsPerEvent: Spread | null };
  /** The closed loop again with the consumer running: what the open model's fractions are of. */
  closedWithConsumer: (LoadResult & { eventsPerSecond: number }) | null;
  open: (OpenResult & { fraction: number; eventsPerSecond: number })[];
  /** Acceptance to processed, of the events sent in the closed loop (a backlog) and in the open model. */
  endToEnd: { closed: EndToEnd; open: EndToEnd | null };
  /** 2xx answers × events per request (warm-ups and open model included) against the records in its topic. */
  delivery: { accepted: number; inKafka: number; match: boolean };
  errors: number;
  /** Spans the OpenTelemetry batch span processors dropped with a full queue (warnings in the logs). */
  droppedSpans: { producer: number; consumer: number };
}

export interface BaselineResult {
  payloadBytes: number;
  /** The bare node:http server's round of median requests/s (it runs in the one-event shapes' rounds). */
  http: LoadResult | null;
  /** Its CPU time per request, the median of the rounds. */
  httpCpuMsPerRequest: number | null;
  /** kafka-producer-perf-test's run of median records/s, and the spread of its runs. */
  kafka: KafkaPerfResult | null;
  kafkaRecordsPerSecond: Spread | null;
}

export interface PeerInfo {
  system: Exclude<System, 'pipeline'>;
  name: string;
  version: string;
  status: 'measured' | 'blocked';
  reason?: string;
  /** How it is configured to do the same work as ours (acks, answering after the acknowledgement). */
  setup?: string;
}

/** One consumer's run through the topic: from its first record to its last, joining the group left out. */
export interface ConsumerRun {
  eventsPerSecond: number;
  cpuMsPerEvent: number | null;
  seconds: number;
}

/**
 * Our consumer (default handler) beside a bare KafkaJS consumer and Kafka's own consumer, each a
 * fresh group through the same topic, one after the other in each round (the order rotating).
 */
export interface ConsumerBench {
  topic: string;
  records: number;
  rounds: Array<{
    ours: ConsumerRun;
    kafkajs: ConsumerRun | null;
    kafka: { recordsPerSecond: number; seconds: number } | null;
  }>;
  /** The round of median events/s of each (the ratios are taken round by round). */
  ours: ConsumerRun;
  kafkajs: ConsumerRun | null;
  kafka: { recordsPerSecond: number; seconds: number } | null;
}

/** What each system answered while Kafka was down: anything but a 2xx. */
export interface KafkaDownCheck {
  system: System;
  /** The HTTP status, or null when no answer came within the wait. */
  status: number | null;
  waitedMs: number;
  passed: boolean;
}

export interface BenchResult {
  schema: 3;
  mode: Mode;
  command: string;
  started: string;
  finished: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  /** Each ratio computed per round (systems of one shape measured side by side), the median of the rounds. */
  ratios: Record<string, number | null>;
  /** The lowest and highest round of each ratio in `ratios`. */
  ratioRanges: Record<string, [number, number] | null>;
  ratioDetails: Record<string, number | null | string>;
  goals: Record<string, { goal: string; value: number | null; met: boolean | null }>;
  delivery: { accepted: number; in_kafka: number; match: boolean; mismatched: string[] };
  /** What each system does that the others do not, so that the figures are read fairly. */
  differences: string[];
  peers: PeerInfo[];
  consumer: ConsumerBench | null;
  kafkaDown: KafkaDownCheck[];
  baselines: BaselineResult[];
  scenarios: ScenarioResult[];
}
