import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { CloudEvent as SdkEvent, emitterFor, Kafka, Mode } from 'cloudevents';
import type { CloudEvent } from '@event-pipeline/common';
import type { EventHandler } from '../../consumer/src/handler';
import { sdkKafkaMessage } from '../support/cloudevents';
import { readTopic, topicRecordCount, uniqueName } from '../support/kafka';
import { validateOpenApi } from '../support/openapi';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const API_KEY = 'e2e-key-0123456789abcdef';

describe('the ingest API contract, against a real broker', () => {
  const topic = uniqueName('events');
  let producer: Awaited<ReturnType<typeof startProducer>>;

  beforeAll(async () => {
    producer = await startProducer({ EVENTS_TOPIC: topic, MAX_EVENTS_PER_REQUEST: '20' });
  });

  afterAll(async () => {
    await producer?.stop();
  });

  it("takes the SDK's HTTP emitter in binary and structured mode; the topic holds the binding's headers and the data", async () => {
    // The SDK's emitter serialises the event in each mode; its bundled transport does not
    // report the status code, so a fetch transport posts what the emitter hands it.
    const statuses: number[] = [];
    for (const mode of [Mode.BINARY, Mode.STRUCTURED]) {
      const emit = emitterFor(
        async (message) => {
          const response = await fetch(`${producer.url}/events`, {
            method: 'POST',
            headers: message.headers as Record<string, string>,
            body: message.body as string,
          });
          statuses.push(response.status);
          return response;
        },
        { mode },
      );
      await emit(
        new SdkEvent({
          id: `sdk-${mode}`,
          source: '/e2e/sdk',
          type: 'com.example.page.viewed',
          subject: `visitor-${mode}`,
          datacontenttype: 'application/json',
          data: { path: `/${mode}` },
          tenant: 'acme',
        }),
      );
    }
    expect(statuses).toEqual([202, 202]);

    const records = await readTopic(topic);
    const binary = records.find((record) => record.headers.ce_id === 'sdk-binary')!;
    expect(binary.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: 'sdk-binary',
      ce_source: '/e2e/sdk',
      ce_type: 'com.example.page.viewed',
      ce_subject: 'visitor-binary',
      ce_tenant: 'acme',
      ce_dataschema: 'urn:event-pipeline:schema:com.example.page.viewed:1',
      'content-type': expect.stringMatching(/^application\/json/),
    });
    expect(binary.key).toBe('visitor-binary');
    expect(JSON.parse(binary.value!)).toEqual({ path: '/binary' });

    // Any CloudEvents-aware reader gets the event back: here the SDK's own Kafka binding.
    for (const mode of ['binary', 'structured']) {
      const record = records.find((candidate) => candidate.headers.ce_id === `sdk-${mode}`)!;
      expect(Kafka.toEvent(sdkKafkaMessage(record))).toMatchObject({
        id: `sdk-${mode}`,
        source: '/e2e/sdk',
        type: 'com.example.page.viewed',
        tenant: 'acme',
        data: { path: `/${mode}` },
        partitionkey: `visitor-${mode}`,
      });
    }
  });

  it('refuses a batch with one invalid item with 422 naming it, and the topic stays as it was', async () => {
    const before = await topicRecordCount(topic);
    const valid = { specversion: '1.0', source: '/e2e', type: 'com.example.order.created' };
    const response = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([
        { ...valid, id: 'o-1', data: { orderId: 'o-1', total: 5, currency: 'EUR' } },
        { ...valid, id: 'o-2', data: { orderId: 'o-2', total: 5 } },
        { ...valid, id: 'o-3', data: { orderId: 'o-3', total: 7, currency: 'USD' } },
      ]),
    });
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as { type: string; errors: unknown[] };
    expect(problem.type).toBe('urn:event-pipeline:problem:schema-violation');
    expect(problem.errors).toEqual([
      { index: 1, pointer: '/1/data/currency', message: "must have required property 'currency'" },
    ]);
    // Let anything that was wrongly sent arrive before counting.
    await postJson(producer.url, { type: 'marker' }).then((answer) => expect(answer.status).toBe(202));
    expect(await topicRecordCount(topic)).toBe(before + 1);
  });

  it('gives a retried request with the same Idempotency-Key the same ids', async () => {
    const batch = [{ type: 'cart.updated', subject: 'cart-1', data: { items: 1 } }, { type: 'cart.updated' }];
    const send = () => postJson(producer.url, batch, { 'idempotency-key': 'checkout-7f3a' });
    const first = (await (await send()).json()) as { ids: string[] };
    const retry = (await (await send()).json()) as { ids: string[] };
    expect(retry.ids).toEqual(first.ids);
    expect(new Set(first.ids).size).toBe(2);
    // Both copies are in Kafka (at-least-once); they carry the same ce_id for readers to drop one.
    const records = await readTopic(topic);
    for (const id of first.ids) expect(records.filter((record) => record.headers.ce_id === id)).toHaveLength(2);
  });

  it('answers the checks of the issue: 400 without type, 415 for text/plain, 422 for empty data of a schema type', async () => {
    const noType = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'x', source: '/e2e' }),
    });
    expect(noType.status).toBe(400);
    expect(((await noType.json()) as { errors: unknown[] }).errors).toEqual([
      expect.objectContaining({ attribute: 'type', pointer: '/type' }),
    ]);
    const text = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);

    const listed = (await (await fetch(`${producer.url}/schemas`)).json()) as {
      schemas: Array<{ type: string; latest: boolean; schema: { required?: string[] } }>;
    };
    const withRequired = listed.schemas.filter((schema) => schema.latest && (schema.schema.required ?? []).length > 0);
    expect(withRequired.length).toBeGreaterThan(0);
    for (const { type } of withRequired) {
      const response = await postJson(producer.url, { type, data: {} });
      expect(response.status).toBe(422);
    }
  });

  it('serves an OpenAPI 3.1 document that validates and describes POST /events', async () => {
    const document = (await (await fetch(`${producer.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, { post?: unknown }>;
    };
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.paths['/events']?.post).toBeDefined();
    expect(validateOpenApi(document)).toMatchObject({ valid: true, version: '3.1' });
  });

  // Issue 29: nothing bounded the connections, so memory grew with the number of clients.
  it('holds at most MAX_CONNECTIONS connections and closes one more at once, then serves again once one closes', async () => {
    const bounded = await startProducer({ EVENTS_TOPIC: topic, MAX_CONNECTIONS: '2' });
    const open = async (): Promise<Socket> => {
      const socket = connect(bounded.port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    };
    const held = [await open(), await open()];
    try {
      const extra = await open();
      const received = await new Promise<string>((resolve) => {
        let text = '';
        extra.on('data', (chunk) => (text += chunk.toString()));
        extra.on('close', () => resolve(text));
        extra.on('error', () => undefined);
        extra.write('GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n');
      });
      expect(received).toBe('');
      held.pop()!.destroy();
      const answer = await waitFor('a connection to be served again', async () => {
        const socket = await open();
        socket.write('GET /health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('error', () => undefined);
        await once(socket, 'close');
        return text.startsWith('HTTP/1.1 200') && text;
      });
      expect(answer).toContain('"status":"live"');
    } finally {
      for (const socket of held) socket.destroy();
      await bounded.stop();
    }
  });

  it('cuts off a client that drips its body slower than HTTP_BODY_TIMEOUT_MS with 408', async () => {
    const slow = await startProducer({ EVENTS_TOPIC: topic, HTTP_BODY_TIMEOUT_MS: '1000' });
    try {
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(slow.port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
        socket.write(
          'POST /events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"type":',
        );
        const drip = setInterval(() => socket.writable && socket.write(' '), 200);
        socket.on('close', () => clearInterval(drip));
        setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain('urn:event-pipeline:problem:request-timeout');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await slow.stop();
    }
  });
});

describe('API keys and the rate limit, against a real broker', () => {
  const topic = uniqueName('events');
  let producer: Awaited<ReturnType<typeof startProducer>>;

  beforeAll(async () => {
    producer = await startProducer({
      EVENTS_TOPIC: topic,
      API_KEYS: `${API_KEY},another-key-0123456789`,
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '2',
    });
  });

  afterAll(async () => {
    await producer?.stop();
  });

  it('answers 202 with the right key, then 429 with Retry-After past the rate', async () => {
    const send = () => postJson(producer.url, { type: 'a' }, { authorization: `Bearer ${API_KEY}` });
    // At once, so no token refills in between: the burst of 2 passes, the rest waits.
    const statuses = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await send();
        return { status: response.status, retryAfter: response.headers.get('retry-after') };
      }),
    );
    expect(statuses.filter((answer) => answer.status === 202)).toHaveLength(2);
    const limited = statuses.filter((answer) => answer.status === 429);
    expect(limited).toHaveLength(2);
    for (const answer of limited) expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await topicRecordCount(topic)).toBe(2);
    // The other key has a bucket of its own.
    expect(
      (await postJson(producer.url, { type: 'a' }, { authorization: 'Bearer another-key-0123456789' })).status,
    ).toBe(202);
  });

  // Runs after the test above: its callers had valid keys, which spend nothing of their address.
  it('answers 401 without a key and with a wrong one, then 429 to the address before any key is looked at', async () => {
    expect((await postJson(producer.url, { type: 'a' })).status).toBe(401);
    const wrong = await postJson(producer.url, { type: 'a' }, { authorization: 'Bearer not-the-key-000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    // Issue 29: refusals were not throttled. The address's burst (2) is spent: even the right key waits.
    const throttled = await postJson(producer.url, { type: 'a' }, { authorization: `Bearer ${API_KEY}` });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await topicRecordCount(topic)).toBe(3);
    const metrics = await (await fetch(`${producer.url}/metrics`)).text();
    expect(metricValue(metrics, 'events_ingested_total{outcome="unauthorized"}')).toBe(2);
  });
});

describe('a binary-mode event through the consumer group', () => {
  it('reaches the handler as the same CloudEvent, extensions included', async () => {
    const topic = uniqueName('events');
    const seen: CloudEvent[] = [];
    const handler: EventHandler = { handle: (event) => void seen.push(event) };
    const producer = await startProducer({ EVENTS_TOPIC: topic });
    const consumer = await startConsumer(
      { EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: uniqueName('processor') },
      handler,
    );
    try {
      const response = await fetch(`${producer.url}/events`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'bin-1',
          'ce-source': '/e2e/binary',
          'ce-type': 'com.example.order.created',
          'ce-subject': 'order-9',
          'ce-tenant': 'acme',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ orderId: 'o-9', total: 12.5, currency: 'EUR' }),
      });
      expect(response.status).toBe(202);
      await waitFor('the event at the handler', () => seen.length > 0);
      expect(seen[0]).toMatchObject({
        specversion: '1.0',
        id: 'bin-1',
        source: '/e2e/binary',
        type: 'com.example.order.created',
        subject: 'order-9',
        datacontenttype: 'application/json',
        dataschema: 'urn:event-pipeline:schema:com.example.order.created:2',
        data: { orderId: 'o-9', total: 12.5, currency: 'EUR' },
        extensions: { tenant: 'acme' },
      });
    } finally {
      await producer.stop();
      await consumer.stop();
    }
  });
});
