import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type CloudEvent } from '@event-pipeline/common';
import { loadConsumerConfig } from '../../consumer/src/config';
import { startConsumerService } from '../../consumer/src/service';
import { loadProducerConfig } from '../../producer/src/config';
import { startProducerService } from '../../producer/src/service';
import { startKafkaCluster, type KafkaCluster } from '../../scripts/kafka/cluster';
import { readTopic, testPort, uniqueName } from '../support/kafka';
import { postJson, startConsumer, startProducer, testLogger } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const PASSWORD = 'alice-secret-7';

// A broker of its own, with SASL listeners (PLAIN, SCRAM-SHA-256/512) beside the PLAINTEXT one
// the harness probes, and a SASL_SSL listener whose certificate a CA made at start signs.
describe('against a Kafka that requires SASL', () => {
  let cluster: KafkaCluster;
  const alice = (mechanism: string): Record<string, string> => ({
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: 'alice',
    KAFKA_SASL_PASSWORD: PASSWORD,
  });

  beforeAll(async () => {
    cluster = await startKafkaCluster({
      name: 'secured',
      brokerPort: testPort(10_200),
      security: { users: { alice: PASSWORD }, saslPort: testPort(10_201), saslSslPort: testPort(10_202) },
      fresh: true,
    });
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  /** Producer and consumer with the same settings carry one event; resolves with what the handler saw. */
  async function carryOneEvent(env: Record<string, string>, brokers: string[]): Promise<CloudEvent[]> {
    const topic = uniqueName('events');
    const seen: CloudEvent[] = [];
    const producer = await startProducer({ ...env, EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '1' }, brokers);
    const consumer = await startConsumer(
      {
        ...env,
        EVENTS_TOPIC: topic,
        DLQ_TOPIC: `${topic}.dlq`,
        CONSUMER_GROUP: uniqueName('processor'),
        TOPIC_PARTITIONS: '1',
      },
      { handle: (event) => void seen.push(event) },
      brokers,
    );
    try {
      const response = await postJson(producer.url, { id: 'secured-1', type: 'login.succeeded', data: { ok: true } });
      expect(response.status).toBe(202);
      await waitFor('the event handled', () => seen.length > 0, { timeoutMs: 60_000 });
      return seen;
    } finally {
      await producer.stop();
      await consumer.stop();
    }
  }

  it('carries an event end to end with SCRAM-SHA-256', async () => {
    const seen = await carryOneEvent(alice('scram-sha-256'), cluster.saslBrokers);
    expect(seen.map((event) => [event.id, event.data])).toEqual([['secured-1', { ok: true }]]);
  });

  it('carries an event end to end with SCRAM-SHA-512 over TLS, trusting the CA from its file', async () => {
    const seen = await carryOneEvent(
      { ...alice('SCRAM-SHA-512'), KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: cluster.caFile! },
      cluster.saslSslBrokers,
    );
    expect(seen.map((event) => event.id)).toEqual(['secured-1']);
  });

  it('produces with PLAIN', async () => {
    const topic = uniqueName('events');
    const producer = await startProducer({ ...alice('plain'), EVENTS_TOPIC: topic }, cluster.saslBrokers);
    try {
      expect((await postJson(producer.url, { id: 'plain-1', type: 'login.succeeded' })).status).toBe(202);
    } finally {
      await producer.stop();
    }
    const records = await readTopic(topic, cluster.brokers);
    expect(records.map((record) => record.headers.ce_id)).toEqual(['plain-1']);
  });

  it('stops start-up of both services with the reason when the password is wrong, and never logs it', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      service: 'test',
      level: 'debug',
      destination: { write: (line) => lines.push(line) },
    });
    const env = {
      KAFKA_BROKERS: cluster.saslBrokers.join(','),
      HOST: '127.0.0.1',
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: 'not-the-password',
    };
    const producer = await startProducerService(loadProducerConfig({ ...env, PORT: '0' }), { logger });
    const consumer = await startConsumerService(loadConsumerConfig({ ...env, METRICS_PORT: '0' }), { logger });
    const refusal = /SASL SCRAM SHA256 authentication failed: .*invalid credentials/;
    try {
      await expect(producer.started).rejects.toThrow(refusal);
      await expect(consumer.started).rejects.toThrow(refusal);
      expect((await fetch(`http://127.0.0.1:${producer.port}/health/ready`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${consumer.port}/health/ready`)).status).toBe(503);
    } finally {
      await producer.stop();
      await consumer.stop();
    }
    expect(lines.filter((line) => line.includes('"start failed"') && refusal.test(line))).toHaveLength(2);
    expect(lines.filter((line) => line.includes('not-the-password'))).toEqual([]);
  });

  it.each([
    ['a client without SASL', {}, () => cluster.saslBrokers],
    [
      'a client that does not trust the broker certificate',
      { ...alice('scram-sha-512'), KAFKA_SSL: 'true' },
      () => cluster.saslSslBrokers,
    ],
  ])('refuses %s: the producer stays not ready and answers 503', async (_label, env, brokers) => {
    const config = loadProducerConfig({
      ...env,
      KAFKA_BROKERS: brokers().join(','),
      HOST: '127.0.0.1',
      PORT: '0',
      EVENTS_TOPIC: uniqueName('events'),
    });
    const producer = await startProducerService(config, { logger: testLogger('producer') });
    let started = false;
    void producer.started.then(() => (started = true));
    try {
      // Long enough for several connection attempts; none gets through.
      await sleep(4000);
      expect(started).toBe(false);
      expect((await fetch(`http://127.0.0.1:${producer.port}/health/ready`)).status).toBe(503);
      const refused = await postJson(`http://127.0.0.1:${producer.port}`, { type: 'login.attempted' });
      expect(refused.status).toBe(503);
    } finally {
      await producer.stop();
    }
  });
});
