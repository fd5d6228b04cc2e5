import { stackUp, type Part } from '../../scripts/stack/stack';
import { ancestorsOf, waitForEventTrace } from '../support/jaeger';
import { postJson } from '../support/pipeline';
import { promQuery, promSeries, promTargets, queryExemplars } from '../support/prometheus';
import { movedStackLayout, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(300_000);

// `npm run stack:up` as code: the same parts, moved off the contract's ports so that a running
// stack on this machine is left alone.
describe('the local stack', () => {
  // Two consumers (+ 21 and + 22): Prometheus must find both.
  const layout = movedStackLayout(10_400, 'stack', 2);
  let stack: TestStack | undefined;
  let parts: Part[];
  const url = (name: string): string => stack!.url(name);

  beforeAll(async () => {
    stack = await startTestStack(layout);
    parts = stack.parts;
  });

  afterAll(async () => stack?.destroy());

  it('starts every part, and starting it again leaves the running parts alone', async () => {
    for (const part of parts) expect(await part.running()).toBe(true);
    const started = Date.now();
    await stackUp(parts);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers on every endpoint a person checks after `npm run stack:up`', async () => {
    const endpoints: [string, string][] = [
      ['producer', '/health/ready'],
      ['consumer', '/health/ready'],
      ['consumer-2', '/health/ready'],
      ['prometheus', '/-/ready'],
      ['alertmanager', '/-/ready'],
      ['kafka-exporter', '/metrics'],
      ['jaeger', '/api/services'],
    ];
    for (const [name, endpoint] of endpoints) {
      const response = await fetch(`${url(name)}${endpoint}`);
      await response.arrayBuffer();
      expect([name, endpoint, response.status]).toEqual([name, endpoint, 200]);
    }
  });

  // Their modules lack the UIs' assets (docs/operations.md); the Pushgateway's UI is in its module.
  it("shows a page saying so where Prometheus' and Alertmanager's web UIs would be, and the Pushgateway's UI", async () => {
    for (const name of ['prometheus', 'alertmanager']) {
      // Prometheus sends / on to /query.
      const response = await fetch(`${url(name)}/`);
      expect([name, response.status]).toEqual([name, 200]);
      expect(await response.text()).toContain(`This ${name} was built by event-pipeline's tools`);
    }
    const pushgateway = await fetch(`${url('pushgateway')}/`);
    expect(pushgateway.status).toBe(200);
    expect(await pushgateway.text()).toContain('<title>Prometheus Pushgateway');
  });

  it('takes 10 events and shows each as a trace in which a consumer span descends from the producer HTTP span', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      const response = await postJson(url('producer'), { type: 'order.placed', subject: `order-${index}` });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { ids: string[] }).ids[0]!);
    }
    const traceIds = new Set<string>();
    for (const id of ids) {
      const spans = await waitForEventTrace(
        url('jaeger'),
        id,
        (trace) => trace.some((span) => span.service === 'consumer' && span.kind === 'consumer'),
        // The stack's services export on the SDK's default schedule (every 5 s).
        { intervalMs: 500 },
      );
      const server = spans.find((span) => span.service === 'producer' && span.kind === 'server')!;
      const consumed = spans.find((span) => span.service === 'consumer' && span.kind === 'consumer')!;
      expect(server.name).toBe('POST /events');
      expect(ancestorsOf(consumed, spans)).toContain(server);
      traceIds.add(server.traceId);
    }
    expect(traceIds.size).toBe(10);
  });

  describe('metrics', () => {
    const prometheus = (): string => url('prometheus');

    it('scrapes every process of the stack, both consumers among them', async () => {
      const targets = await waitFor(
        'every target up',
        async () => {
          const active = await promTargets(prometheus());
          return active.length >= 7 && active.every((target) => target.health === 'up') ? active : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      const byJob = (job: string): string[] =>
        targets.filter((target) => target.labels.job === job).map((target) => target.labels.instance ?? '');
      expect(byJob('consumer').sort()).toEqual([
        `127.0.0.1:${layout.consumerPort}`,
        `127.0.0.1:${layout.consumerPort + 1}`,
      ]);
      for (const job of ['producer', 'kafka-exporter', 'prometheus', 'alertmanager', 'jaeger']) {
        expect(byJob(job)).toHaveLength(1);
      }
    });

    it('has a series for every metric of the contract after events, one of them malformed', async () => {
      for (let index = 0; index < 20; index += 1) {
        const response = await postJson(url('producer'), { type: 'order.placed', subject: `metrics-${index}` });
        expect(response.status).toBe(202);
      }
      const malformed = await fetch(`${url('producer')}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"type": "order.placed",',
      });
      expect(malformed.status).toBe(400);

      const wanted = [
        'events_ingested_total{outcome="accepted"}',
        'events_ingested_total{outcome="invalid"}',
        'events_processed_total{outcome="success"}',
        'events_produce_duration_seconds_count',
        'events_processing_duration_seconds_count',
        'events_end_to_end_latency_seconds_count',
        'http_server_request_duration_seconds_count{route="/events"}',
        'events_consumer_lag_seconds',
        'kafka_consumergroup_lag{consumergroup="events-processor",topic="events"}',
        'kafka_topic_partition_current_offset{topic="events"}',
        'process_resident_memory_bytes{job="producer"}',
        'process_resident_memory_bytes{job="consumer"}',
      ];
      // Every counter above has counted this test's events once Prometheus scraped after them.
      await waitFor(
        'a series for every metric of the contract',
        async () => {
          const missing = [];
          for (const selector of wanted)
            if ((await promSeries(prometheus(), selector)).length === 0) missing.push(selector);
          const accepted = await promQuery(prometheus(), 'sum(events_ingested_total{outcome="accepted"})');
          const invalid = await promQuery(prometheus(), 'sum(events_ingested_total{outcome="invalid"})');
          const processed = await promQuery(prometheus(), 'sum(events_processed_total{outcome="success"})');
          return missing.length === 0 && accepted >= 20 && invalid >= 1 && processed >= 20 ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      expect(await promQuery(prometheus(), 'count(process_resident_memory_bytes{job="consumer"})')).toBe(2);
    });

    it('keeps exemplars of the end-to-end latency whose trace ids Jaeger has', async () => {
      const exemplars = await waitFor(
        'exemplars of events_end_to_end_latency_seconds',
        async () => {
          const found = await queryExemplars(prometheus(), 'events_end_to_end_latency_seconds_bucket');
          return found.length > 0 ? found : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      const traceIds = [...new Set(exemplars.map((exemplar) => exemplar.labels.trace_id))];
      expect(traceIds.length).toBeGreaterThan(0);
      for (const traceId of traceIds.slice(0, 5)) {
        expect(traceId).toMatch(/^[0-9a-f]{32}$/);
        // The services export spans every few seconds; the exemplar may come first.
        const trace = await waitFor(
          `trace ${traceId} in Jaeger`,
          async () => {
            const response = await fetch(`${url('jaeger')}/api/traces/${traceId}`);
            if (response.status !== 200) return undefined;
            return ((await response.json()) as { data: { traceID: string; spans: unknown[] }[] }).data[0];
          },
          { timeoutMs: 30_000, intervalMs: 500 },
        );
        expect(trace.traceID).toBe(traceId);
        expect(trace.spans.length).toBeGreaterThan(0);
      }
    });
  });
});
