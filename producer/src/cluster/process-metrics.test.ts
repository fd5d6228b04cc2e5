import { Counter, createExemplarHistogram, createMetricsRegistry, exposeMetrics, Gauge } from '@event-pipeline/common';
import { AggregatorRegistry } from 'prom-client';
import { createProducerMetrics } from '../metrics';
import { mergeProcessMetrics, registryOf, retireProcess, type ProcessSnapshot } from './process-metrics';

const OPENMETRICS = { headers: { accept: 'application/openmetrics-text; version=1.0.0' } };
const CLASSIC = { headers: { accept: 'text/plain' } };
const TRACE_A = 'a'.repeat(32);
const TRACE_B = 'b'.repeat(32);

/** A worker's registry with the producer's metrics, after `requests` requests of one trace. */
async function workerSnapshot(requests: number, traceId: string, { ready = 1 } = {}): Promise<ProcessSnapshot> {
  const registry = createMetricsRegistry();
  const metrics = createProducerMetrics(registry);
  metrics.setInfo({ topic: 'events' });
  metrics.kafkaReady.set(ready);
  metrics.ingested.inc({ outcome: 'accepted' }, requests);
  for (let index = 0; index < requests; index += 1) {
    metrics.httpDuration.observe({
      value: 0.003,
      labels: { method: 'POST', route: '/events', status_code: '202' },
      exemplarLabels: { trace_id: traceId },
    });
  }
  // As it crosses the IPC channel.
  return structuredClone(await registry.getMetricsAsJSON()) as unknown as ProcessSnapshot;
}

async function openMetricsOf(snapshots: ProcessSnapshot[]): Promise<string> {
  return (await exposeMetrics(registryOf(mergeProcessMetrics(snapshots)), OPENMETRICS)).body;
}

describe("prom-client's AggregatorRegistry, which this module builds on", () => {
  it('drops exemplars when it adds up histograms (why mergeProcessMetrics puts them back)', async () => {
    const aggregated = AggregatorRegistry.aggregate([await workerSnapshot(1, TRACE_A)]);
    aggregated.setContentType(AggregatorRegistry.OPENMETRICS_CONTENT_TYPE);
    expect(await aggregated.metrics()).not.toContain(TRACE_A);
  });

  it('names a counter `<name>_total_total` in OpenMetrics (why registryOf serves views of its own)', async () => {
    const aggregated = AggregatorRegistry.aggregate([await workerSnapshot(1, TRACE_A)]);
    aggregated.setContentType(AggregatorRegistry.OPENMETRICS_CONTENT_TYPE);
    expect(await aggregated.metrics()).toContain('events_ingested_total_total{outcome="accepted"} 1');
  });
});

describe('mergeProcessMetrics', () => {
  it('when two workers served requests, then /metrics counts both and keeps an exemplar in OpenMetrics', async () => {
    const body = await openMetricsOf([await workerSnapshot(2, TRACE_A), await workerSnapshot(3, TRACE_B)]);
    expect(body).toContain('events_ingested_total{outcome="accepted"} 5');
    expect(body).toMatch(
      /http_server_request_duration_seconds_count\{method="POST",route="\/events",status_code="202"\} 5\n/,
    );
    expect(body).toMatch(
      /http_server_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/events",status_code="202"\} 5 # \{trace_id="[ab]{32}"\} 0.003 \d/,
    );
    expect(body).toContain('# TYPE events_ingested counter');
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('when a scrape asks for the classic format, then counters keep _total and no exemplar is written', async () => {
    const merged = mergeProcessMetrics([await workerSnapshot(2, TRACE_A), await workerSnapshot(3, TRACE_B)]);
    const { contentType, body } = await exposeMetrics(registryOf(merged), CLASSIC);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE events_ingested_total counter');
    expect(body).toContain('events_ingested_total{outcome="accepted"} 5');
    expect(body).not.toContain('trace_id');
  });

  it('keeps the newest exemplar of a bucket among the processes', async () => {
    const older = await workerSnapshot(1, TRACE_A);
    const newer = await workerSnapshot(1, TRACE_B);
    for (const metric of newer)
      for (const sample of metric.values) if (sample.exemplar) sample.exemplar.timestamp += 10;
    expect(await openMetricsOf([older, newer])).toContain(`trace_id="${TRACE_B}"`);
    expect(await openMetricsOf([newer, older])).toContain(`trace_id="${TRACE_B}"`);
  });

  it('reads Kafka ready only when every worker is, and the info gauge stays 1', async () => {
    const body = await openMetricsOf([
      await workerSnapshot(1, TRACE_A),
      await workerSnapshot(1, TRACE_B, { ready: 0 }),
    ]);
    expect(body).toContain('events_producer_kafka_ready 0\n');
    expect(body).toContain('events_producer_info{topic="events"} 1\n');
    const allReady = await openMetricsOf([await workerSnapshot(1, TRACE_A), await workerSnapshot(1, TRACE_B)]);
    expect(allReady).toContain('events_producer_kafka_ready 1\n');
  });

  it("adds up the processes' memory and takes the start time from the first snapshot (the primary's)", async () => {
    const processSnapshot = async (): Promise<ProcessSnapshot> =>
      structuredClone(await createMetricsRegistry().getMetricsAsJSON()) as unknown as ProcessSnapshot;
    const [primary, worker] = [await processSnapshot(), await processSnapshot()];
    const valueOf = (snapshot: ProcessSnapshot, name: string): number =>
      snapshot.find((metric) => metric.name === name)!.values[0]!.value;
    primary.find((metric) => metric.name === 'process_start_time_seconds')!.values[0]!.value = 1000;
    const merged = mergeProcessMetrics([primary, worker]);
    expect(valueOf(merged, 'process_resident_memory_bytes')).toBe(
      valueOf(primary, 'process_resident_memory_bytes') + valueOf(worker, 'process_resident_memory_bytes'),
    );
    expect(valueOf(merged, 'process_start_time_seconds')).toBe(1000);
    expect(merged.filter((metric) => metric.name === 'process_start_time_seconds')).toHaveLength(1);
  });
});

describe('retireProcess', () => {
  it('when a worker is gone, then its counters and histograms still count and its gauges do not', async () => {
    const gone = await workerSnapshot(4, TRACE_A);
    const registry = createMetricsRegistry();
    new Gauge({ name: 'events_in_flight', help: 'h', registers: [registry] }).set(7);
    new Counter({ name: 'events_ingested_total', help: 'h', labelNames: ['outcome'], registers: [registry] }).inc(
      { outcome: 'accepted' },
      1,
    );
    const goneWithGauge = [...gone, ...((await registry.getMetricsAsJSON()) as unknown as ProcessSnapshot).slice(-2)];
    const retired = retireProcess([], goneWithGauge);
    expect(retired.find((metric) => metric.name === 'events_in_flight')).toBeUndefined();
    expect(retired.find((metric) => metric.name === 'events_producer_kafka_ready')).toBeUndefined();

    const body = await openMetricsOf([retired, await workerSnapshot(1, TRACE_B)]);
    // 4 + 1 from the gone worker, 1 from the one that runs: never less than before it went.
    expect(body).toContain('events_ingested_total{outcome="accepted"} 6');
    expect(body).toMatch(/http_server_request_duration_seconds_count\{[^}]*status_code="202"\} 5\n/);
  });

  it('adds up every worker that is gone', async () => {
    const retired = retireProcess(
      retireProcess([], await workerSnapshot(2, TRACE_A)),
      await workerSnapshot(3, TRACE_B),
    );
    expect(await openMetricsOf([retired])).toContain('events_ingested_total{outcome="accepted"} 5');
  });
});

describe('createExemplarHistogram in a worker', () => {
  it('gives its exemplars to getMetricsAsJSON, which is what crosses to the primary', async () => {
    const registry = createMetricsRegistry();
    createExemplarHistogram({ name: 'h_seconds', help: 'h', buckets: [1], registers: [registry] }).observe({
      value: 0.5,
      exemplarLabels: { trace_id: TRACE_A },
    });
    const snapshot = structuredClone(await registry.getMetricsAsJSON()) as unknown as ProcessSnapshot;
    const bucket = snapshot.find((metric) => metric.name === 'h_seconds')!.values[0]!;
    expect(bucket.exemplar).toMatchObject({ labelSet: { trace_id: TRACE_A }, value: 0.5 });
  });
});
