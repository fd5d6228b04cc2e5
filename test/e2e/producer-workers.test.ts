import { request } from 'node:http';
import { readTopic, uniqueName } from '../support/kafka';
import { metricValue } from '../support/pipeline';
import { freePort, spawnProducer, type ServiceProcess } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

// What Prometheus sends when it scrapes.
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const ACCEPTED = 'events_ingested_total{outcome="accepted"}';
/**
 * Past the produce timeout (10 s) and some slack. A connection that node:cluster was handing
 * to a worker as it died gets no answer at all; the client's own timeout ends it.
 */
const REQUEST_TIMEOUT_MS = 20_000;
const POSTS_202 = 'http_server_request_duration_seconds_count{method="POST",route="/events",status_code="202"}';

/**
 * One request on a connection of its own: node:cluster hands each new connection to the next
 * worker, so consecutive calls meet different workers.
 */
function onNewConnection(
  url: string,
  {
    method = 'GET',
    path = '/',
    headers = {},
    body,
    timeoutMs = REQUEST_TIMEOUT_MS,
  }: { method?: string; path?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}${path}`, { method, headers, agent: false, timeout: timeoutMs }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? '',
          body: text,
        }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer in time')));
    outgoing.end(body);
  });
}

const postEvent = (url: string, event: unknown) =>
  onNewConnection(url, {
    method: 'POST',
    path: '/events',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });

/** The trace ids of the exemplars on the buckets of `histogram`. */
function exemplarTraceIds(openMetrics: string, histogram: string): string[] {
  const line = new RegExp(`^${histogram}_bucket\\{[^}]*\\} \\d+ # \\{trace_id="([0-9a-f]{32})"\\} \\S+ \\S+$`, 'gm');
  return [...openMetrics.matchAll(line)].map((match) => match[1]!);
}

const workerPids = (producer: ServiceProcess): number[] =>
  [...producer.output().matchAll(/"worker":(\d+),"pid":(\d+),"msg":"worker started"/g)].map((match) =>
    Number(match[2]),
  );

// The producer as users run it with PRODUCER_WORKERS=2 (two even on a one-core machine), the
// telemetry bootstrap preloaded (spans to an OTLP endpoint nobody listens on: sampling and
// trace ids are all the exemplars need).
describe('a producer of two worker processes', () => {
  const topic = uniqueName('events');
  let producer: ServiceProcess;

  beforeAll(async () => {
    producer = await spawnProducer(
      topic,
      {
        TOPIC_PARTITIONS: '3',
        PRODUCER_WORKERS: '2',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      },
      { telemetry: true },
    );
  });

  afterAll(async () => {
    if (!producer) return;
    producer.child.kill('SIGTERM');
    expect(await producer.exited).toBe(0);
  });

  it("answers /metrics on its own port for every worker, with the requests' traces as exemplars", async () => {
    expect(workerPids(producer)).toHaveLength(2);
    const statuses: number[] = [];
    for (let index = 0; index < 40; index += 1) {
      statuses.push((await postEvent(producer.url, { type: 'page.viewed', data: { index } })).status);
    }
    expect(statuses).toEqual(Array.from({ length: 40 }, () => 202));

    // Whichever worker a scrape meets, it reports the whole producer.
    for (let scrape = 0; scrape < 6; scrape += 1) {
      const openMetrics = await onNewConnection(producer.url, {
        path: '/metrics',
        headers: { accept: PROMETHEUS_ACCEPT },
      });
      expect(openMetrics.status).toBe(200);
      expect(openMetrics.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      expect(metricValue(openMetrics.body, ACCEPTED)).toBe(40);
      expect(metricValue(openMetrics.body, POSTS_202)).toBe(40);
      expect(metricValue(openMetrics.body, 'events_producer_workers')).toBe(2);
      expect(metricValue(openMetrics.body, 'events_producer_kafka_ready')).toBe(1);
      expect(metricValue(openMetrics.body, `events_producer_info{topic="${topic}"}`)).toBe(1);
      expect(exemplarTraceIds(openMetrics.body, 'http_server_request_duration_seconds').length).toBeGreaterThan(0);
      expect(openMetrics.body.endsWith('# EOF\n')).toBe(true);

      const classic = await onNewConnection(producer.url, { path: '/metrics' });
      expect(classic.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(metricValue(classic.body, ACCEPTED)).toBe(40);
      expect(classic.body).not.toContain('trace_id');
    }
  });

  it('when a worker dies under load, then no request it held gets a 2xx, readiness waits for its replacement, and no counter goes down', async () => {
    const [victim] = workerPids(producer);
    const accepted: string[] = [];
    const refused: number[] = [];
    let running = true;
    const client = async (client: number): Promise<void> => {
      for (let index = 0; running; index += 1) {
        const id = `c${client}-${index}`;
        try {
          const response = await fetch(`${producer.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id, type: 'load', subject: `k${index % 16}`, data: { client, index } }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          await response.arrayBuffer();
          if (response.status === 202) accepted.push(id);
          else refused.push(response.status);
        } catch {
          // The connection died with its worker, or was being handed to it: no answer, so
          // nothing to trust; the next request opens another.
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, index) => client(index));
    try {
      await waitFor('a steady stream', () => accepted.length >= 200, { timeoutMs: 60_000 });
      const before = await onNewConnection(producer.url, { path: '/metrics' });
      const acceptedBefore = metricValue(before.body, ACCEPTED)!;
      expect(acceptedBefore).toBeGreaterThanOrEqual(240);

      process.kill(victim!, 'SIGKILL');
      const notReady = await waitFor(
        'not ready while a worker is missing',
        async () => {
          // A probe the primary was handing to the dying worker gets no answer: give up on it
          // soon, so that the next probe sees the window while the replacement starts.
          const ready = await onNewConnection(producer.url, { path: '/health/ready', timeoutMs: 500 }).catch(
            () => undefined,
          );
          return ready?.status === 503 ? ready : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 20 },
      );
      expect(JSON.parse(notReady.body)).toMatchObject({
        status: 'not ready',
        reason: expect.stringMatching(/workers ready/),
      });
      await waitFor('a replacement', () => workerPids(producer).length === 3, { timeoutMs: 30_000 });
      expect(producer.output()).toContain('"msg":"worker exited, starting another"');
      await waitFor(
        'ready with the replacement',
        async () =>
          (await onNewConnection(producer.url, { path: '/health/ready' }).catch(() => undefined))?.status === 200,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const afterKill = accepted.length;
      await waitFor('the stream going on', () => accepted.length >= afterKill + 200, { timeoutMs: 60_000 });

      const after = await onNewConnection(producer.url, { path: '/metrics' });
      // The dead worker's counts as last collected stay in the sum.
      expect(metricValue(after.body, ACCEPTED)!).toBeGreaterThanOrEqual(acceptedBefore);
      expect(metricValue(after.body, 'events_producer_worker_restarts_total')).toBe(1);
      expect(metricValue(after.body, 'events_producer_workers')).toBe(2);
    } catch (error) {
      console.error(producer.output().slice(-5000));
      throw error;
    } finally {
      running = false;
      await Promise.all(clients);
    }
    // Whatever was not accepted was refused with 503, or cut off with its worker; never a 2xx
    // for an event that Kafka did not hold.
    expect(refused.filter((status) => status !== 503)).toEqual([]);
    const onTopic = new Set((await readTopic(topic)).map((record) => record.headers.ce_id));
    expect(accepted.filter((id) => !onTopic.has(id))).toEqual([]);
  });
});
