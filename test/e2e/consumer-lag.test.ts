import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { handlerModule } from '../support/handlers';
import { readTopic, uniqueName } from '../support/kafka';
import { metricValue, postJson } from '../support/pipeline';
import { freePort, spawnPipeline, type ServiceProcess } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const EVENTS = 5;
// What Prometheus 2.x sends when it scrapes.
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** The trace ids of the exemplars on the buckets of `histogram` (of the series whose labels match `labels`). */
function exemplarTraceIds(openMetrics: string, histogram: string, labels = /.*/): string[] {
  const line = new RegExp(`^${histogram}_bucket\\{([^}]*)\\} \\d+ # \\{trace_id="([0-9a-f]{32})"\\} \\S+ \\S+$`, 'gm');
  return [...openMetrics.matchAll(line)].filter((match) => labels.test(match[1]!)).map((match) => match[2]!);
}

// Both services run as processes with the telemetry bootstrap (spans go to an OTLP endpoint
// nobody listens on: sampling and trace ids are all the exemplars need). The consumer's handler
// waits while a gate file exists, so the test can hold an event in hand and then let it go.
describe("the consumer's own lag, while its handler is paused and once it resumes", () => {
  const topic = uniqueName('events');
  const dir = mkdtempSync(path.join(tmpdir(), 'consumer-lag-'));
  const gate = path.join(dir, 'paused');
  let producer: ServiceProcess;
  let consumer: ServiceProcess;

  const partitionSeries = (name: string): string => `${name}{topic="${topic}",partition="0"}`;
  const scrape = async (service: ServiceProcess, accept?: string): Promise<Response> =>
    fetch(`${service.url}/metrics`, accept === undefined ? {} : { headers: { accept } });
  const consumerState = async () => {
    const text = await (await scrape(consumer)).text();
    return {
      lagSeconds: metricValue(text, partitionSeries('events_consumer_lag_seconds')),
      lagMessages: metricValue(text, partitionSeries('events_consumer_lag_messages')),
      position: metricValue(text, partitionSeries('events_consumer_position')),
      inFlight: metricValue(text, 'events_consumer_in_flight'),
      assignedPartitions: metricValue(text, 'events_consumer_assigned_partitions'),
      processed: metricValue(text, 'events_processed_total{outcome="success"}'),
    };
  };

  beforeAll(async () => {
    writeFileSync(gate, '');
    const nobodyPort = await freePort();
    ({ producer, consumer } = await spawnPipeline({
      topic,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${nobodyPort}`, TOPIC_PARTITIONS: '1' },
      telemetry: true,
      consumerEnv: { HANDLER_MODULE: handlerModule('gated'), HANDLER_TIMEOUT_MS: '120000', GATE_FILE: gate },
    }));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    for (const service of [producer, consumer]) {
      if (!service) continue;
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });

  it('reports a time lag that grows and a message lag while paused, and 0 for both once caught up', async () => {
    // One request, one produce request: the consumer's first fetch sees all of them. One subject,
    // so one key: the events are handled one after the other and the first holds the rest back.
    const events = Array.from({ length: EVENTS }, (_, index) => ({
      type: 'order.placed',
      subject: 'order-1',
      data: { index },
    }));
    expect((await postJson(producer.url, events)).status).toBe(202);

    const paused = await waitFor('the first event in hand and its lag', async () => {
      const state = await consumerState();
      return state.inFlight === 1 && state.lagSeconds !== undefined ? state : undefined;
    });
    expect(paused).toMatchObject({ lagMessages: EVENTS, position: 0, assignedPartitions: 1 });

    await sleep(1100);
    const later = await consumerState();
    expect(later).toMatchObject({ inFlight: 1, lagMessages: EVENTS, position: 0 });
    expect(later.lagSeconds).toBeGreaterThanOrEqual(paused.lagSeconds! + 1);

    rmSync(gate);
    const caughtUp = await waitFor('the consumer to catch up', async () => {
      const state = await consumerState();
      return state.processed === EVENTS && state.lagSeconds === 0 ? state : undefined;
    });
    expect(caughtUp).toMatchObject({ lagMessages: 0, position: EVENTS, inFlight: 0 });
  });

  it("gives an OpenMetrics scrape the events' traces as exemplars, and curl none", async () => {
    // The events of one request share its trace.
    const records = await readTopic(topic);
    expect(records).toHaveLength(EVENTS);
    const traceIds = new Set(records.map((record) => record.headers.traceparent?.split('-')[1]));
    expect([...traceIds]).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/)]);

    const response = await scrape(consumer, PROMETHEUS_ACCEPT);
    expect(response.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const openMetrics = await response.text();
    for (const histogram of ['events_end_to_end_latency_seconds', 'events_processing_duration_seconds']) {
      const exemplars = exemplarTraceIds(openMetrics, histogram);
      expect(exemplars.length).toBeGreaterThan(0);
      for (const traceId of exemplars) expect(traceIds).toContain(traceId);
    }

    const producerMetrics = await (await scrape(producer, PROMETHEUS_ACCEPT)).text();
    for (const exemplars of [
      exemplarTraceIds(producerMetrics, 'http_server_request_duration_seconds', /route="\/events"/),
      exemplarTraceIds(producerMetrics, 'events_produce_duration_seconds'),
    ]) {
      expect(exemplars.length).toBeGreaterThan(0);
      for (const traceId of exemplars) expect(traceIds).toContain(traceId);
    }

    for (const service of [consumer, producer]) {
      const classic = await scrape(service);
      expect(classic.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await classic.text()).not.toContain('trace_id');
    }
  });
});
