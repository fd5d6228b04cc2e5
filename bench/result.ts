// The shape of bench/results/latest.json (schema 2), shared by the run and its report.
import type { Mode } from './config';
import type { KafkaPerfResult } from './kafka-perf';
import type { LoadResult, OpenResult } from './load';

export type System = 'pipeline' | 'benthos' | 'fastapi' | 'bridge';

export interface EndToEnd {
  events: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ScenarioResult {
  name: string;
  /** Ours, or a peer doing the same work on the same Kafka under the same load. */
  system: System;
  telemetry: boolean;
  sampleRatio?: number;
  eventsPerRequest: number;
  payloadBytes: number;
  connections: number;
  /** The ceiling of ingestion: the closed loop with no consumer running (as Kafka's perf test runs). */
  closed: LoadResult & { eventsPerSecond: number };
  /** CPU time (user + system) the producer (or the peer, all its processes) spent per event in the measured closed loop. */
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

export interface PeerInfo {
  system: Exclude<System, 'pipeline'>;
  name: string;
  version: string;
  status: 'measured' | 'blocked';
  reason?: string;
  /** How it is configured to do the same work as ours (acks, answering after the acknowledgement). */
  setup?: string;
}

/** Our consumer's events/s with the default handler beside Kafka's own consumer, on the same topic. */
export interface ConsumerBench {
  topic: string;
  records: number;
  ours: { eventsPerSecond: number; cpuMsPerEvent: number | null; seconds: number };
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
  schema: 2;
  mode: Mode;
  command: string;
  started: string;
  finished: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  ratios: Record<string, number | null>;
  ratioDetails: Record<string, number | null | string>;
  goals: Record<string, { goal: string; value: number | null; met: boolean | null }>;
  delivery: { accepted: number; in_kafka: number; match: boolean };
  peers: PeerInfo[];
  consumer: ConsumerBench | null;
  kafkaDown: KafkaDownCheck[];
  baselines: BaselineResult[];
  scenarios: ScenarioResult[];
}
