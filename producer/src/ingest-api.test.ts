import path from 'node:path';
import request from 'supertest';
import { createLogger, createMetricsRegistry, fromKafkaRecord, type OutboundRecord } from '@event-pipeline/common';
import { ApiKeys } from './api-keys';
import { createApp, type AppOptions } from './app';
import { DataSchemas } from './events/data-schemas';
import { createProducerMetrics } from './metrics';
import { RateLimiter } from './rate-limit';

// The ingest contract at the HTTP edge: modes, attribute and schema errors, idempotency, keys
// and rates. A stand-in publisher records what would go to Kafka; the e2e tests use a broker.
const schemas = DataSchemas.load(path.resolve(__dirname, '../../schemas'));
const KEY = 'test-key-0123456789abcdef';

function appWith(overrides: Partial<AppOptions> = {}) {
  const registry = createMetricsRegistry();
  const published: OutboundRecord[][] = [];
  const app = createApp({
    publisher: {
      publish: async (records) => {
        published.push(records);
      },
      readiness: () => ({ ready: true }),
    },
    logger: createLogger({ service: 'test', level: 'silent' }),
    registry,
    metrics: createProducerMetrics(registry),
    bodyLimitBytes: 100_000,
    maxEventsPerRequest: 10,
    eventSource: 'urn:test',
    retryAfterSeconds: 3,
    schemas,
    ...overrides,
  });
  // Trust X-Forwarded-For, so a test can send from several client addresses.
  app.proxy = true;
  return {
    server: app.callback(),
    registry,
    published,
    events: () =>
      published
        .flat()
        .map(
          (record) => fromKafkaRecord({ ...record, key: record.key === null ? null : Buffer.from(record.key) }).event,
        ),
  };
}

const order = { orderId: 'o-1', total: 10, currency: 'EUR' };
const structured = {
  specversion: '1.0',
  id: 'ce-1',
  source: '/shop',
  type: 'com.example.order.created',
  subject: 'order-1',
  data: order,
  tenant: 'acme',
  priority: 2,
};

describe('POST /events in each CloudEvents mode', () => {
  it('takes a structured event, keeps its extensions and sets dataschema from the schema it passed', async () => {
    const { server, events, published } = appWith();
    const response = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify(structured))
      .expect(202);
    expect(response.body.ids).toEqual(['ce-1']);
    expect(events()[0]).toMatchObject({
      id: 'ce-1',
      source: '/shop',
      subject: 'order-1',
      dataschema: 'urn:event-pipeline:schema:com.example.order.created:2',
      data: order,
      extensions: { tenant: 'acme', priority: '2' },
    });
    expect(published[0]![0]!.headers).toMatchObject({
      ce_tenant: 'acme',
      ce_priority: '2',
      'content-type': 'application/json',
    });
  });

  it('takes a batch and answers the ids in order', async () => {
    const { server } = appWith();
    const response = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents-batch+json; charset=utf-8')
      .send(JSON.stringify([structured, { ...structured, id: 'ce-2' }]))
      .expect(202);
    expect(response.body.ids).toEqual(['ce-1', 'ce-2']);
  });

  it('takes a binary-mode event: attributes from ce- headers (percent-decoded), the body as data', async () => {
    const { server, events } = appWith();
    await request(server)
      .post('/events')
      .set({
        'ce-specversion': '1.0',
        'ce-id': 'b-1',
        'ce-source': '/web',
        'ce-type': 'com.example.page.viewed',
        'ce-subject': 'caf%C3%A9',
        'ce-region': 'eu',
        'content-type': 'application/json; charset=utf-8',
      })
      .send(JSON.stringify({ path: '/pricing' }))
      .expect(202);
    expect(events()[0]).toMatchObject({
      id: 'b-1',
      subject: 'café',
      datacontenttype: 'application/json; charset=utf-8',
      data: { path: '/pricing' },
      extensions: { region: 'eu' },
    });
  });

  it('passes binary-mode data of any other media type through as bytes', async () => {
    const { server, published } = appWith();
    await request(server)
      .post('/events')
      .set({
        'ce-specversion': '1.0',
        'ce-id': 'b-2',
        'ce-source': '/x',
        'ce-type': 'blob.stored',
        'content-type': 'text/csv',
      })
      .send('a,b\n1,2\n')
      .expect(202);
    expect(published[0]![0]!.value!.toString()).toBe('a,b\n1,2\n');
    expect(published[0]![0]!.headers['content-type']).toBe('text/csv');
  });

  it('decodes data_base64 of a structured event into the bytes of the record', async () => {
    const { server, published } = appWith();
    const { data: _data, ...rest } = structured;
    await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify({ ...rest, type: 'blob.stored', data_base64: Buffer.from('hi').toString('base64') }))
      .expect(202);
    expect(published[0]![0]!.value!.toString()).toBe('hi');
    expect(published[0]![0]!.headers['content-type']).toBe('application/octet-stream');
  });
});

describe('invalid events', () => {
  it.each([
    ['type', { ...structured, type: undefined }],
    ['id', { ...structured, id: undefined }],
    ['source', { ...structured, source: undefined }],
    ['specversion', { ...structured, specversion: '0.3' }],
    ['specversion', { ...structured, specversion: undefined }],
  ])('answers 400 invalid-event naming the attribute %s', async (attribute, event) => {
    const { server, published } = appWith();
    const response = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify(event))
      .expect(400);
    expect(response.body.type).toBe('urn:event-pipeline:problem:invalid-event');
    expect(response.body.errors).toEqual([expect.objectContaining({ attribute, pointer: `/${attribute}` })]);
    expect(published).toEqual([]);
  });

  it('names the header of a binary-mode event without ce-type', async () => {
    const { server } = appWith();
    const response = await request(server)
      .post('/events')
      .set({ 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': '/x', 'content-type': 'application/json' })
      .send('{}')
      .expect(400);
    expect(response.body.errors).toEqual([expect.objectContaining({ attribute: 'type', header: 'ce-type' })]);
  });

  it('refuses bad extension names and values, and a structured body that is an array', async () => {
    const { server } = appWith();
    const bad = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify({ ...structured, Tenant: 'x', nested: { a: 1 } }))
      .expect(400);
    expect(bad.body.errors.map((error: { attribute: string }) => error.attribute).sort()).toEqual(['Tenant', 'nested']);
    await request(server).post('/events').set('content-type', 'application/cloudevents+json').send('[]').expect(400);
  });

  it.each([
    ['id', { ...structured, id: 'ce-\u001b[2J' }, /control characters/],
    ['source', { ...structured, source: '/shop\r' }, /control characters/],
    ['type', { ...structured, type: 'order\u0085created' }, /control characters/],
    ['subject', { ...structured, subject: 'order-\ud800' }, /unpaired surrogate/],
    ['tenant', { ...structured, tenant: 'acme\u0000' }, /control characters/],
    ['priority', { ...structured, priority: 2 ** 53 }, /beyond ±\(2\^53-1\)/],
  ])('refuses, with 400 naming it, a %s outside what CloudEvents allows', async (attribute, event, message) => {
    const { server, published } = appWith();
    const response = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify(event))
      .expect(400);
    expect(response.body.errors).toEqual([
      expect.objectContaining({ attribute, pointer: `/${attribute}`, message: expect.stringMatching(message) }),
    ]);
    expect(published).toEqual([]);
  });

  it('refuses a control character or an unpaired surrogate percent-decoded from a ce- header, and a plain event with one', async () => {
    const { server, published } = appWith();
    const binary = await request(server)
      .post('/events')
      .set({
        'ce-specversion': '1.0',
        'ce-id': 'a%1B%5B2J',
        'ce-source': '/x',
        'ce-type': 't',
        'ce-tenant': '%C2%9B31m',
      })
      .set('content-type', 'application/json')
      .send('{}')
      .expect(400);
    expect(binary.body.errors.map((error: { header?: string; attribute: string }) => error.header).sort()).toEqual([
      'ce-id',
      'ce-tenant',
    ]);
    // An integer past 2^53 in a JSON attribute: JSON.parse has rounded it already, so it is refused, not stored.
    const plain = await request(server)
      .post('/events')
      .set('content-type', 'application/json')
      .send('{"type":"t","id":"x\\u0007"}')
      .expect(400);
    expect(plain.body.errors).toEqual([expect.objectContaining({ pointer: '/id' })]);
    const big = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send('{"specversion":"1.0","id":"a","source":"/x","type":"t","seq":9007199254740993}')
      .expect(400);
    expect(big.body.errors).toEqual([expect.objectContaining({ attribute: 'seq' })]);
    expect(published).toEqual([]);
  });

  it('refuses more extensions than an event may carry, in one error', async () => {
    const { server } = appWith();
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`x${index}`, 'v']));
    const response = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify({ ...structured, tenant: undefined, priority: undefined, ...many }))
      .expect(400);
    expect(response.body.errors).toEqual([
      { pointer: '', message: 'an event has at most 32 extension attributes; this one has 33' },
    ]);
    const fits = Object.fromEntries(Array.from({ length: 32 }, (_, index) => [`x${index}`, 'v']));
    await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify({ ...structured, tenant: undefined, priority: undefined, ...fits }))
      .expect(202);
  });

  it('refuses Avro a client encoded, in binary mode and as data_base64: only the API writes application/avro', async () => {
    const { server, published } = appWith();
    const binary = await request(server)
      .post('/events')
      .set({ 'ce-specversion': '1.0', 'ce-id': 'a', 'ce-source': '/x', 'ce-type': 'com.example.payment.authorized' })
      .set('content-type', 'application/avro')
      .send(Buffer.from([0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f]))
      .expect(400);
    expect(binary.body.errors).toEqual([
      expect.objectContaining({ attribute: 'datacontenttype', header: 'content-type' }),
    ]);
    const structuredAvro = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents+json')
      .send(
        JSON.stringify({
          specversion: '1.0',
          id: 'b',
          source: '/x',
          type: 'no.schema',
          datacontenttype: 'Application/Avro; v=1',
          data_base64: 'AAAAAAH+////Dw==',
        }),
      )
      .expect(400);
    expect(structuredAvro.body.errors).toEqual([
      expect.objectContaining({ attribute: 'datacontenttype', pointer: '/datacontenttype' }),
    ]);
    expect(published).toEqual([]);
  });

  it('answers 415 for text/plain without ce- headers, listing the accepted types', async () => {
    const { server } = appWith();
    const response = await request(server).post('/events').set('content-type', 'text/plain').send('hello').expect(415);
    expect(response.headers['accept-post']).toBe(
      'application/json, application/cloudevents+json, application/cloudevents-batch+json',
    );
  });
});

describe('schemas', () => {
  it('answers 422 naming each failing item and field of a batch, and produces none of it', async () => {
    const { server, published, registry } = appWith();
    const response = await request(server)
      .post('/events')
      .set('content-type', 'application/cloudevents-batch+json')
      .send(JSON.stringify([structured, { ...structured, id: 'ce-2', data: { orderId: 'o-2', total: -1 } }]))
      .expect(422);
    expect(response.body.type).toBe('urn:event-pipeline:problem:schema-violation');
    expect(response.body.errors).toEqual([
      { index: 1, pointer: '/1/data/currency', message: "must have required property 'currency'" },
      { index: 1, pointer: '/1/data/total', message: 'must be >= 0' },
    ]);
    expect(published).toEqual([]);
    expect(await registry.metrics()).toContain('events_ingested_total{outcome="invalid"} 2');
  });

  it('checks against the version dataschema names, and refuses one the type does not have', async () => {
    const { server } = appWith();
    const v1 = 'urn:event-pipeline:schema:com.example.order.created:1';
    const send = (event: unknown) =>
      request(server).post('/events').set('content-type', 'application/cloudevents+json').send(JSON.stringify(event));
    await send({ ...structured, dataschema: v1, data: { orderId: 'o', total: 1 } }).expect(202);
    const unknown = await send({ ...structured, dataschema: 'urn:other:1' }).expect(422);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ attribute: 'dataschema', pointer: '/dataschema' })]);
  });

  it('answers 422 for empty data of a type with required fields, in the plain mode too', async () => {
    const { server } = appWith();
    const response = await request(server)
      .post('/events')
      .send({ type: 'com.example.page.viewed', data: {} })
      .expect(422);
    expect(response.body.errors).toEqual([{ pointer: '/data/path', message: "must have required property 'path'" }]);
    const binary = await request(server)
      .post('/events')
      .set({
        'ce-specversion': '1.0',
        'ce-id': 'x',
        'ce-source': '/x',
        'ce-type': 'com.example.page.viewed',
        'content-type': 'application/json',
      })
      .send('{"path": 7}')
      .expect(422);
    expect(binary.body.errors).toEqual([{ pointer: '/path', message: 'must be string' }]);
  });

  it('accepts types without a schema unless schemas are required', async () => {
    await request(appWith().server).post('/events').send({ type: 'free.form', data: 1 }).expect(202);
    const response = await request(appWith({ schemasRequired: true }).server)
      .post('/events')
      .send({ type: 'free.form', data: 1 })
      .expect(422);
    expect(response.body.errors).toEqual([expect.objectContaining({ attribute: 'type', pointer: '/type' })]);
  });

  it('lists every schema version at GET /schemas', async () => {
    const response = await request(appWith().server).get('/schemas').expect(200);
    expect(
      response.body.schemas.map((schema: { type: string; version: number; latest: boolean }) => [
        schema.type,
        schema.version,
        schema.latest,
      ]),
    ).toEqual([
      ['com.example.order.created', 1, false],
      ['com.example.order.created', 2, true],
      ['com.example.page.viewed', 1, true],
      ['com.example.payment.authorized', 1, false],
      ['com.example.payment.authorized', 2, true],
    ]);
  });
});

describe('Idempotency-Key', () => {
  it('gives a retried request the same ids, another key other ids, and keeps ids a client gave', async () => {
    const { server } = appWith();
    const send = (key: string) =>
      request(server)
        .post('/events')
        .set('idempotency-key', key)
        .send([{ type: 'a' }, { type: 'b', id: 'mine' }, { type: 'c' }]);
    const first = (await send('req-1').expect(202)).body.ids as string[];
    const retry = (await send('req-1').expect(202)).body.ids as string[];
    const other = (await send('req-2').expect(202)).body.ids as string[];
    expect(retry).toEqual(first);
    expect(first[1]).toBe('mine');
    expect(new Set([...first, ...other]).size).toBe(5);
  });

  it('scopes the ids by API key, so two callers with the same key do not collide', async () => {
    const { server } = appWith({ apiKeys: new ApiKeys([KEY, `${KEY}-2`]) });
    const send = (apiKey: string) =>
      request(server)
        .post('/events')
        .set('authorization', `Bearer ${apiKey}`)
        .set('idempotency-key', 'k')
        .send({ type: 'a' });
    expect((await send(KEY).expect(202)).body.ids).not.toEqual((await send(`${KEY}-2`).expect(202)).body.ids);
  });

  it('stamps the caller (authtype, authid: the key id, never the key) on every event, and refuses a client that sets them', async () => {
    const { server, events } = appWith({ apiKeys: new ApiKeys([KEY, `${KEY}-2`]) });
    const send = (apiKey: string, body: object) =>
      request(server).post('/events').set('authorization', `Bearer ${apiKey}`).send(body);
    await send(KEY, [{ type: 'a' }, { type: 'b' }]).expect(202);
    await send(`${KEY}-2`, { type: 'a' }).expect(202);
    const stamped = events().map((event) => event.extensions);
    expect(stamped[0]).toEqual({ authtype: 'api_key', authid: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(stamped[1]).toEqual(stamped[0]);
    expect(stamped[2]?.authid).not.toBe(stamped[0]?.authid);
    expect(JSON.stringify(stamped)).not.toContain(KEY);
    for (const forged of ['authid', 'authtype', 'authclaims']) {
      const refused = await request(server)
        .post('/events')
        .set('authorization', `Bearer ${KEY}`)
        .set('content-type', 'application/cloudevents+json')
        .send(JSON.stringify({ ...structured, [forged]: 'x' }))
        .expect(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ attribute: forged })]);
    }
  });

  it('without API keys gives the same ids to a retry from another client address', async () => {
    const { server } = appWith();
    const send = (address: string) =>
      request(server).post('/events').set('x-forwarded-for', address).set('idempotency-key', 'k').send({ type: 'a' });
    expect((await send('192.0.2.1').expect(202)).body.ids).toEqual((await send('198.51.100.7').expect(202)).body.ids);
  });

  it('refuses a malformed key', async () => {
    const response = await request(appWith().server)
      .post('/events')
      .set('idempotency-key', 'has space')
      .send({ type: 'a' })
      .expect(400);
    expect(response.body.type).toBe('urn:event-pipeline:problem:invalid-header');
  });
});

describe('API keys and rate limits', () => {
  it('answers 401 without a key or with a wrong one, 202 with the right one; other routes stay open', async () => {
    const { server, registry } = appWith({ apiKeys: new ApiKeys([KEY]) });
    const none = await request(server).post('/events').send({ type: 'a' }).expect(401);
    expect(none.body.type).toBe('urn:event-pipeline:problem:unauthorized');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await request(server)
      .post('/events')
      .set('authorization', 'Bearer nope')
      .send({ type: 'a' })
      .expect(401);
    expect(JSON.stringify(wrong.body)).not.toContain('nope');
    await request(server).post('/events').set('authorization', `Bearer ${KEY}`).send({ type: 'a' }).expect(202);
    await request(server).get('/openapi.json').expect(200);
    await request(server).get('/schemas').expect(200);
    expect(await registry.metrics()).toContain('events_ingested_total{outcome="unauthorized"} 2');
  });

  it('answers 429 with Retry-After past the rate, per caller', async () => {
    let now = 0;
    const rateLimiter = new RateLimiter({ ratePerSecond: 1, burst: 2, now: () => now });
    const { server, registry } = appWith({ apiKeys: new ApiKeys([KEY, `${KEY}-2`]), rateLimiter });
    const send = (apiKey: string) =>
      request(server).post('/events').set('authorization', `Bearer ${apiKey}`).send({ type: 'a' });
    await send(KEY).expect(202);
    await send(KEY).expect(202);
    const limited = await send(KEY).expect(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.body.type).toBe('urn:event-pipeline:problem:rate-limited');
    await send(`${KEY}-2`).expect(202);
    now += 1000;
    await send(KEY).expect(202);
    expect(await registry.metrics()).toContain('events_ingested_total{outcome="overloaded"} 1');
  });
});
