// Kafka's own ceilings, from the kafka-tools jar of the local Kafka:
// org.apache.kafka.tools.ProducerPerformance (kafka-producer-perf-test), acks=all and idempotent
// as our producer is, one topic with the partitions our topics get, records of the payload size
// the pipeline carries; and org.apache.kafka.tools.ConsumerPerformance (kafka-consumer-perf-test)
// through a topic the bench filled, beside our consumer.
import path from 'node:path';
import { ensureKafkaJars, javaBinary, runCommand } from '../scripts/kafka/jars';

export interface KafkaPerfResult {
  records: number;
  recordBytes: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  latencyMs: { avg: number; p50: number; p99: number; p999: number };
}

/** Parses the summary line ProducerPerformance prints last. */
export function parseProducerPerformance(output: string): Omit<KafkaPerfResult, 'recordBytes'> {
  const summary = output
    .split('\n')
    .filter((line) => /records sent,.*records\/sec/.test(line))
    .at(-1);
  const match =
    summary &&
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/.exec(
      summary,
    );
  if (!match) throw new Error(`no summary line in ProducerPerformance's output:\n${output.slice(-2000)}`);
  const [, records, rate, mb, avg, p50, p99, p999] = match.map(Number);
  return {
    records: records!,
    recordsPerSecond: rate!,
    mbPerSecond: mb!,
    latencyMs: { avg: avg!, p50: p50!, p99: p99!, p999: p999! },
  };
}

export async function runKafkaPerf(opts: {
  brokers: string;
  topic: string;
  records: number;
  recordBytes: number;
}): Promise<KafkaPerfResult> {
  const libs = await ensureKafkaJars();
  const { stdout, stderr } = await runCommand(javaBinary(), [
    '-Xmx512m',
    '-cp',
    path.join(libs, '*'),
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    opts.topic,
    '--num-records',
    String(opts.records),
    '--record-size',
    String(opts.recordBytes),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${opts.brokers}`,
    'acks=all',
    'enable.idempotence=true',
  ]);
  return { ...parseProducerPerformance(`${stdout}\n${stderr}`), recordBytes: opts.recordBytes };
}

export interface KafkaConsumerPerfResult {
  records: number;
  /** Records per second while fetching (joining the group left out, as for our consumer). */
  recordsPerSecond: number;
  seconds: number;
}

/**
 * Parses ConsumerPerformance's summary: a header line naming the columns, then one line of values
 * (start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 * rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec).
 */
export function parseConsumerPerformance(output: string): KafkaConsumerPerfResult {
  const lines = output.split('\n').map((line) => line.trim());
  const headerAt = lines.findIndex((line) => line.includes('fetch.nMsg.sec'));
  const header = lines[headerAt]?.split(/,\s*/);
  const values = lines[headerAt + 1]?.split(/,\s*/);
  const column = (name: string): number => Number(values?.[header?.indexOf(name) ?? -1]);
  const recordsPerSecond = column('fetch.nMsg.sec');
  if (!header || !values || !Number.isFinite(recordsPerSecond)) {
    throw new Error(`no summary in ConsumerPerformance's output:\n${output.slice(-2000)}`);
  }
  return {
    records: column('data.consumed.in.nMsg'),
    recordsPerSecond,
    seconds: column('fetch.time.ms') / 1000,
  };
}

export async function runKafkaConsumerPerf(opts: {
  brokers: string;
  topic: string;
  records: number;
  group: string;
}): Promise<KafkaConsumerPerfResult> {
  const libs = await ensureKafkaJars();
  const { stdout, stderr } = await runCommand(javaBinary(), [
    '-Xmx512m',
    '-cp',
    path.join(libs, '*'),
    'org.apache.kafka.tools.ConsumerPerformance',
    ...['--bootstrap-server', opts.brokers],
    ...['--topic', opts.topic],
    ...['--messages', String(opts.records)],
    ...['--group', opts.group],
    ...['--timeout', '60000'],
  ]);
  return parseConsumerPerformance(`${stdout}\n${stderr}`);
}
