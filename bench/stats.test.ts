import {
  histogramQuantile,
  median,
  parseHistogram,
  percentiles,
  perRoundRatio,
  ratio,
  round,
  spreadOf,
  sumSamples,
} from './stats';
import { parseProducerPerformance } from './kafka-perf';
import { eventData, requestBody } from './config';
import { diffProfiles, packageOf, type CpuProfile } from './profile';

describe('percentiles of samples', () => {
  it('when there are 1000 samples 1..1000, then p50, p99 and p99.9 are the nearest ranks', () => {
    const samples = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentiles(samples)).toEqual({ p50: 500, p99: 990, p999: 999 });
  });

  it('when there are none, then they are NaN', () => {
    expect(percentiles(new Float64Array(0)).p50).toBeNaN();
  });
});

describe('quantiles of a Prometheus histogram', () => {
  const buckets = [
    { le: 0.01, count: 10 },
    { le: 0.1, count: 90 },
    { le: 1, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];

  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    // rank 50 lies 40 of 80 into (0.01, 0.1]
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.055, 10);
    // rank 99 lies 9 of 10 into (0.1, 1]
    expect(histogramQuantile(buckets, 0.99)).toBeCloseTo(0.91, 10);
    // the first bucket starts at 0
    expect(histogramQuantile(buckets, 0.05)).toBeCloseTo(0.005, 10);
  });

  it('when the rank falls in +Inf, then it is the highest finite bound', () => {
    const overflow = [
      { le: 1, count: 1 },
      { le: Number.POSITIVE_INFINITY, count: 10 },
    ];
    expect(histogramQuantile(overflow, 0.99)).toBe(1);
  });

  it('when the histogram is empty, then it is NaN', () => {
    expect(histogramQuantile([{ le: 1, count: 0 }], 0.5)).toBeNaN();
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP events_end_to_end_latency_seconds e2e',
    '# TYPE events_end_to_end_latency_seconds histogram',
    'events_end_to_end_latency_seconds_bucket{le="0.01"} 3',
    'events_end_to_end_latency_seconds_bucket{le="0.1"} 7',
    'events_end_to_end_latency_seconds_bucket{le="+Inf"} 8',
    'events_end_to_end_latency_seconds_sum 0.5',
    'events_end_to_end_latency_seconds_count 8',
    'events_processed_total{outcome="success"} 8',
    'events_processed_total{outcome="retried"} 2',
  ].join('\n');

  it('parses the cumulative buckets of a histogram', () => {
    expect(parseHistogram(text, 'events_end_to_end_latency_seconds')).toEqual([
      { le: 0.01, count: 3 },
      { le: 0.1, count: 7 },
      { le: Number.POSITIVE_INFINITY, count: 8 },
    ]);
  });

  it('sums the samples with the given labels', () => {
    expect(sumSamples(text, 'events_processed_total', { outcome: 'success' })).toBe(8);
    expect(sumSamples(text, 'events_processed_total')).toBe(10);
  });
});

describe('ratios', () => {
  it('divides, and is null without a denominator', () => {
    expect(ratio(5, 10)).toBe(0.5);
    expect(ratio(5, 0)).toBeNull();
    expect(ratio(undefined, 10)).toBeNull();
  });

  it('rounds to three significant digits, keeping integers whole', () => {
    expect(round(0.123456)).toBe(0.123);
    expect(round(12345.6)).toBe(12346);
    expect(round(Number.NaN)).toBeNull();
  });
});

describe('the load', () => {
  it('makes event data of exactly the payload size', () => {
    expect(JSON.stringify(eventData(200))).toHaveLength(200);
    expect(JSON.stringify(eventData(1024))).toHaveLength(1024);
  });

  it('sends one plain event, or an array for a batch', () => {
    expect(JSON.parse(requestBody(1, 200))).toMatchObject({ type: 'bench.measured' });
    expect(JSON.parse(requestBody(10, 200))).toHaveLength(10);
  });
});

describe("kafka-producer-perf-test's summary", () => {
  it('is parsed from its last line', () => {
    const output = [
      '50000 records sent, 10000.0 records/sec (1.91 MB/sec), 5.1 ms avg latency, 100.0 ms max latency.',
      '200000 records sent, 98765.432099 records/sec (18.84 MB/sec), 150.23 ms avg latency, 400.00 ms max latency, ' +
        '140 ms 50th, 300 ms 95th, 350 ms 99th, 390 ms 99.9th.',
    ].join('\n');
    expect(parseProducerPerformance(output)).toEqual({
      records: 200000,
      recordsPerSecond: 98765.432099,
      mbPerSecond: 18.84,
      latencyMs: { avg: 150.23, p50: 140, p99: 350, p999: 390 },
    });
  });
});

describe('profile frames', () => {
  it('belong to their npm package, our workspace, or Node', () => {
    const frame = (url: string, functionName = 'f') => ({ url, functionName, lineNumber: 0 });
    expect(packageOf(frame('file:///r/node_modules/@opentelemetry/sdk-trace/build/x.js'))).toBe(
      '@opentelemetry/sdk-trace',
    );
    expect(packageOf(frame('file:///r/node_modules/koa/lib/application.js'))).toBe('koa');
    expect(packageOf(frame('file:///r/producer/dist/publisher.js'))).toBe('@event-pipeline/producer');
    expect(packageOf(frame('node:internal/http'))).toBe('node core');
    expect(packageOf(frame('', '(garbage collector)'))).toBe('(garbage collector)');
  });
});

describe('two profiles compared per event', () => {
  // Nodes: 1 root, 2 idle, 3 `send` in kafkajs, 4 `startSpan` in the SDK. Each sample 1 ms.
  const profile = (samples: number[]): CpuProfile => ({
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2, 3, 4] },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
      { id: 3, callFrame: { functionName: 'send', url: 'file:///r/node_modules/kafkajs/p.js', lineNumber: 9 } },
      {
        id: 4,
        callFrame: {
          functionName: 'startSpan',
          url: 'file:///r/node_modules/@opentelemetry/sdk-trace/t.js',
          lineNumber: 0,
        },
      },
    ],
    samples,
    timeDeltas: samples.map(() => 1000),
    startTime: 0,
    endTime: samples.length * 1000,
  });

  it("scales each function's share of the busy time to the measured CPU per event, idle and start-up left out", () => {
    // Untraced: all busy time in send, 10 µs per event. Traced: half in send, half in startSpan, 20 µs per event;
    // its sample taken before 2 ms (start-up, in startSpan) is skipped.
    const rows = diffProfiles(
      { profile: profile([3, 3, 2, 2]), cpuMsPerEvent: 0.01 },
      { profile: profile([4, 4, 3, 2]), cpuMsPerEvent: 0.02, skipMs: 2 },
    );
    expect(rows.map((row) => [row.name, row.before, row.after])).toEqual([
      ['startSpan @opentelemetry/sdk-trace/t.js:1', 0, 10],
      ['send kafkajs/p.js:10', 10, 10],
    ]);
  });
});

describe('figures over interleaved rounds', () => {
  it('when there is an odd or an even count of rounds, then the median is the middle one or the mean of the two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, undefined])).toBeNull();
  });

  it('when a round is missing a figure, then the spread leaves it out', () => {
    expect(spreadOf([2, null, 6, 4])).toEqual({ median: 4, min: 2, max: 6 });
  });

  it('when two systems ran in the same rounds, then the ratio is taken round by round before the median', () => {
    // The medians' ratio would be 20 / 10 = 2; the rounds' own ratios are 1, 3 and 1.5.
    expect(perRoundRatio([10, 30, 20], [10, 10, 40 / 3])).toEqual({ median: 1.5, min: 1, max: 3 });
  });

  it('when a denominator is 0 or missing, then that round is left out', () => {
    expect(perRoundRatio([1, 2, 3], [0, null, 3])).toEqual({ median: 1, min: 1, max: 1 });
  });
});
