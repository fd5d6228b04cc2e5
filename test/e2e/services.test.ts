import { uniqueName } from '../support/kafka';
import { metricValue, postJson } from '../support/pipeline';
import { spawnPipeline, type ServiceProcess } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

// The services as users run them: `node <service>/dist/main.js`, configured only by env.
describe('the producer and consumer processes', () => {
  const topic = uniqueName('events');
  let producer: ServiceProcess;
  let consumer: ServiceProcess;

  beforeAll(async () => {
    ({ producer, consumer } = await spawnPipeline({ topic }));
  });

  afterAll(async () => {
    for (const service of [producer, consumer]) {
      if (!service) continue;
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });

  it('takes 100 single requests and a batch of 100, and the consumer processes all 200', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 100; index += 1) {
      const response = await postJson(producer.url, {
        type: 'page.viewed',
        subject: `user-${index % 7}`,
        data: { index },
      });
      statuses.push(response.status);
    }
    const batch = await postJson(
      producer.url,
      Array.from({ length: 100 }, (_, index) => ({ type: 'page.viewed', data: { index: 100 + index } })),
    );
    statuses.push(batch.status);
    expect(statuses).toEqual(Array.from({ length: 101 }, () => 202));

    await waitFor(
      'events_processed_total{outcome="success"} to reach 200',
      async () => {
        const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
        return metricValue(metrics, 'events_processed_total{outcome="success"}') === 200;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // The default handler logs one structured line per event.
    await waitFor('200 log lines', () => consumer.output().match(/"msg":"event processed"/g)?.length === 200);
  });

  // Issue 29: nothing said that the API ran without authentication.
  it('logs at start that POST /events is open to every caller when API_KEYS is not set', () => {
    expect(producer.output()).toMatch(
      /"level":"warn",.*"authentication":"none".*"msg":"POST \/events is open to every caller: API_KEYS is not set"/,
    );
  });

  it('answers malformed JSON with 400 problem+json', async () => {
    const response = await postJson(producer.url, '{"type":');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('serves health and Prometheus metrics on both', async () => {
    for (const service of [producer, consumer]) {
      expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
      const metrics = await fetch(`${service.url}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toContain('process_cpu_user_seconds_total');
    }
  });
});
