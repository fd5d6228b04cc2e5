import { startKafkaCluster, type KafkaCluster } from '../../scripts/kafka/cluster';
import { testPort, topicRecordCount, uniqueName } from '../support/kafka';
import { postJson, startProducer } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(240_000);

// This test stops and starts a broker, so it owns one: the shared test broker stays up.
describe('when Kafka is down', () => {
  const topic = uniqueName('events');
  let cluster: KafkaCluster;
  let producer: Awaited<ReturnType<typeof startProducer>>;

  beforeAll(async () => {
    cluster = await startKafkaCluster({ name: 'outage', brokerPort: testPort(10_000), fresh: true });
    producer = await startProducer(
      {
        EVENTS_TOPIC: topic,
        READINESS_INTERVAL_MS: '300',
        PRODUCE_TIMEOUT_MS: '10000',
        KAFKA_CONNECTION_TIMEOUT_MS: '500',
        KAFKA_REQUEST_TIMEOUT_MS: '2000',
      },
      cluster.brokers,
    );
  });

  afterAll(async () => {
    await producer?.stop();
    await cluster?.destroy();
  });

  const readyStatus = async (): Promise<number> => (await fetch(`${producer.url}/health/ready`)).status;

  it('is not ready and answers 503 fast, then recovers without a restart', async () => {
    expect((await postJson(producer.url, { type: 'before.outage' })).status).toBe(202);

    await cluster.stop();
    await waitFor('readiness to fail', async () => (await readyStatus()) === 503, { timeoutMs: 20_000 });
    expect((await fetch(`${producer.url}/health/live`)).status).toBe(200);

    const started = performance.now();
    const refused = await postJson(producer.url, { type: 'during.outage' });
    const elapsedMs = performance.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await refused.json()) as { type: string }).type).toBe('urn:event-pipeline:problem:kafka-unavailable');
    // Far under PRODUCE_TIMEOUT_MS: refused up front, not after waiting on a dead broker.
    expect(elapsedMs).toBeLessThan(2000);

    await cluster.start();
    await waitFor('readiness to come back', async () => (await readyStatus()) === 200, { timeoutMs: 60_000 });
    const after = await postJson(producer.url, { type: 'after.outage' });
    expect(after.status).toBe(202);
    // The event refused during the outage is not on the topic; the two accepted ones are.
    expect(await topicRecordCount(topic, cluster.brokers)).toBe(2);
  });
});
