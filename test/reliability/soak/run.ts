// npm run test:soak [-- --minutes N]: the whole local stack (on ports moved off the contract's)
// under a steady load at half of its measured ceiling for N minutes (10 by default). Once a
// minute it records the producer's and consumer's memory, heap, event-loop delay and open file
// descriptors, the HTTP p99 the load saw, and the consumer lag. It passes when none of them
// trends upward beyond its tolerance (a least-squares line through the minutes after warm-up)
// and every accepted event is in Kafka and processed. It writes test/reliability/soak.json and
// test/reliability/soak.svg (linked from docs/reliability.md).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, openLoop, type Target } from '../../../bench/load';
import { groupProgress, topicRecordCount } from '../../support/kafka';
import { promQuery } from '../../support/prometheus';
import { movedStackLayout, startTestStack, type TestStack } from '../../support/stack';
import { waitFor } from '../../support/wait';
import { loadConsumerConfig } from '../../../consumer/src/config';
import { plotSvg, trends, type Sample, type SeriesName } from './trend';

const OUT_DIR = path.resolve(__dirname, '..');
/** The least warm-up: memory and the JIT settle in the first minutes. */
const MIN_WARMUP_MINUTES = 2;
/** Judged minutes needed after the warm-up for a trend. */
const MIN_JUDGED_MINUTES = 3;
const TOPIC = 'events';
const GROUP = 'events-processor';

/** A wrong argument: one line and exit code 2, once the stack (if started) is down again. */
class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

function readArgs(): { minutes: number } {
  let values: { minutes?: string };
  try {
    ({ values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } }, strict: true }));
  } catch (error) {
    usage((error as Error).message);
  }
  const minutes = Number(values.minutes);
  if (!Number.isInteger(minutes) || minutes < MIN_WARMUP_MINUTES + MIN_JUDGED_MINUTES) {
    usage(
      `--minutes must be a whole number of at least ${MIN_WARMUP_MINUTES + MIN_JUDGED_MINUTES}, got "${values.minutes}"`,
    );
  }
  return { minutes };
}

/** The first sample of `name` in a Prometheus text exposition. */
function gauge(exposition: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(exposition);
  if (!match) throw new Error(`no ${name} in the exposition`);
  return Number(match[1]);
}

/** How often a process is read within each minute. */
const READ_EVERY_MS = 5000;

interface ProcessReading {
  rss: number;
  heap: number;
  eventLoopP99: number;
  fds: number;
}

async function readProcess(url: string): Promise<ProcessReading> {
  const exposition = await (await fetch(`${url}/metrics`)).text();
  return {
    rss: gauge(exposition, 'process_resident_memory_bytes'),
    heap: gauge(exposition, 'nodejs_heap_size_used_bytes'),
    eventLoopP99: gauge(exposition, 'nodejs_eventloop_lag_p99_seconds'),
    fds: gauge(exposition, 'process_open_fds'),
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * A minute's value per series from the readings taken in it: the median RSS and event-loop p99
 * (one reading caught mid-collection or mid-stall does not move it), the lowest heap (what is
 * still live after the collector ran: a leak raises that floor, garbage between collections does
 * not), the fewest open descriptors (the load's connections come and go; a leaked descriptor
 * never does, and raises the floor).
 */
function minuteOf(readings: ProcessReading[], prefix: 'producer' | 'consumer'): Partial<Record<SeriesName, number>> {
  return {
    [`${prefix}_rss_bytes`]: median(readings.map((reading) => reading.rss)),
    [`${prefix}_heap_bytes`]: Math.min(...readings.map((reading) => reading.heap)),
    [`${prefix}_event_loop_p99_seconds`]: median(readings.map((reading) => reading.eventLoopP99)),
    [`${prefix}_open_fds`]: Math.min(...readings.map((reading) => reading.fds)),
  };
}

/** Reads both services every READ_EVERY_MS until `done` settles. */
async function readWhile(
  done: Promise<unknown>,
  urls: { producer: string; consumer: string },
): Promise<{ producer: ProcessReading[]; consumer: ProcessReading[] }> {
  const readings = { producer: [] as ProcessReading[], consumer: [] as ProcessReading[] };
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    readings.producer.push(await readProcess(urls.producer));
    readings.consumer.push(await readProcess(urls.consumer));
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS))]);
  }
  return readings;
}

async function main(): Promise<void> {
  const { minutes } = readArgs();
  console.info(`soak: starting the local stack on moved ports`);
  const stack: TestStack = await startTestStack(movedStackLayout(10_040, 'soak'));
  try {
    const brokers = [stack.url('kafka')];
    const target: Target = {
      url: `${stack.url('producer')}/events`,
      headers: { 'content-type': 'application/json' },
      // No subject: each event is keyed by its id, so the load spreads over every partition.
      body: JSON.stringify({ type: 'soak.tick', data: { payload: 'x'.repeat(200) } }),
    };
    const ceiling = await closedLoop(target, 32, 10);
    let accepted = [...ceiling.warmups, ...ceiling.runs].reduce((sum, run) => sum + run.ok, 0);
    const rate = Math.max(10, Math.round(ceiling.best.okPerSecond / 2));
    // The consumer's de-duplication window grows until it holds DEDUPE_WINDOW_SIZE events, then
    // stays: that growth is bounded and expected, so it is part of the warm-up, not of the trend.
    const { DEDUPE_WINDOW_SIZE: window } = loadConsumerConfig({});
    const warmup = Math.max(MIN_WARMUP_MINUTES, Math.ceil(window / (rate * 60)) + 1);
    if (minutes < warmup + MIN_JUDGED_MINUTES) {
      usage(
        `at ${rate} events/s the de-duplication window (${window} events) fills in ${warmup - 1} minute(s): ` +
          `run at least ${warmup + MIN_JUDGED_MINUTES} minutes (--minutes)`,
      );
    }
    console.info(
      `soak: ceiling ${Math.round(ceiling.best.okPerSecond)} events/s; ${minutes} minutes at ${rate}/s, ` +
        `the first ${warmup} of them warm-up`,
    );

    const samples: Sample[] = [];
    let refused = 0;
    for (let minute = 1; minute <= minutes; minute += 1) {
      const running = openLoop(target, rate, 60);
      const readings = await readWhile(running, { producer: stack.url('producer'), consumer: stack.url('consumer') });
      const run = await running;
      accepted += run.ok;
      refused += run.non2xx + run.errors;
      const lag = await promQuery(stack.url('prometheus'), 'sum(kafka_consumergroup_lag{job="kafka-exporter"})');
      const values = {
        ...minuteOf(readings.producer, 'producer'),
        ...minuteOf(readings.consumer, 'consumer'),
        http_p99_seconds: run.latencyMs.p99 / 1000,
        consumer_lag_events: Number.isNaN(lag) ? 0 : lag,
      } as Record<SeriesName, number>;
      samples.push({ minute, values });
      console.info(
        `soak: minute ${minute}: ${run.ok} accepted, ${run.non2xx + run.errors} not; ` +
          `producer RSS ${(values.producer_rss_bytes / 2 ** 20).toFixed(0)} MiB, consumer RSS ` +
          `${(values.consumer_rss_bytes / 2 ** 20).toFixed(0)} MiB, HTTP p99 ${run.latencyMs.p99.toFixed(1)} ms, lag ${values.consumer_lag_events}`,
      );
    }

    // Nothing lost: Kafka holds every accepted event, and the group committed to its end.
    await waitFor(
      'the consumer group to commit to the end of the topic',
      async () => (await groupProgress(GROUP, TOPIC, brokers)).every((p) => p.high === 0 || p.committed === p.high),
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    const inKafka = await topicRecordCount(TOPIC, brokers);
    const judged = trends(samples, warmup);
    const delivered = inKafka >= accepted;
    const passed = delivered && judged.every((trend) => trend.passed);
    if (!passed) process.exitCode = 1;
    const report = {
      ranAt: new Date().toISOString(),
      minutes,
      warmupMinutes: warmup,
      ceilingEventsPerSecond: Math.round(ceiling.best.okPerSecond),
      rateEventsPerSecond: rate,
      accepted,
      refused,
      inKafka,
      delivered,
      passed,
      trends: judged,
      samples,
    };
    await writeFile(path.join(OUT_DIR, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(
      path.join(OUT_DIR, 'soak.svg'),
      plotSvg(
        samples,
        judged,
        `Soak: ${minutes} min at ${rate} events/s (half the ceiling); ${passed ? 'passed' : 'FAILED'}`,
      ),
    );
    console.info('');
    for (const trend of judged) {
      console.info(
        `${trend.passed ? 'flat ' : 'GROWS'}  ${trend.series.padEnd(32)} slope ${trend.slopePerMinute.toPrecision(3)} ${trend.unit}/min, ` +
          `growth ${trend.growth.toPrecision(3)} (allowed ${trend.tolerance.toPrecision(3)})`,
      );
    }
    console.info(`\nsoak: ${accepted} accepted, ${inKafka} in Kafka, all processed; ${passed ? 'passed' : 'FAILED'}`);
    console.info(`written to test/reliability/soak.json and test/reliability/soak.svg`);
  } finally {
    await stack.destroy();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`test:soak: ${error.message}\nusage: npm run test:soak [-- --minutes N]   (default 10)`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
