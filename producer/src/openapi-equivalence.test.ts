import request from 'supertest';
import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createLogger, createMetricsRegistry } from '@event-pipeline/common';
import { createApp } from './app';
import { DataSchemas } from './events/data-schemas';
import { createProducerMetrics } from './metrics';
import { buildOpenApiDocument } from './openapi';

// The OpenAPI document refuses exactly what the server refuses. Every case goes to the real app
// in-process and through the document's request-body schema for its media type, compiled with a
// standard JSON Schema 2020-12 validator (ajv and ajv-formats); the two verdicts must agree.
// The headers the document describes (the binary mode's ce- headers and Idempotency-Key) are
// held to the same rule below: each value goes to the server and through the parameter's schema.
// Out of scope, on purpose: percent-encoded header values (the server checks the text they
// decode to, which a schema of the raw header cannot say; the parameters' descriptions do), the
// cap of 32 extension attributes per event (JSON Schema cannot count the members outside a set;
// the CloudEvent schema's description says it), the
// body of the binary mode (data in any media type), and the data schemas of event types (this
// app has none, so every type is free-form).
const MAX_EVENTS = 3;
const schemas = DataSchemas.empty();

const app = createApp({
  publisher: { publish: async () => {}, readiness: () => ({ ready: true }) },
  logger: createLogger({ service: 'test', level: 'silent' }),
  registry: createMetricsRegistry(),
  metrics: createProducerMetrics(createMetricsRegistry()),
  bodyLimitBytes: 1_000_000,
  maxEventsPerRequest: MAX_EVENTS,
  eventSource: 'urn:test',
  retryAfterSeconds: 3,
  schemas,
}).callback();

const document = buildOpenApiDocument({
  schemas,
  apiKeysEnabled: false,
  maxEventsPerRequest: MAX_EVENTS,
  bodyLimitBytes: 1_000_000,
  version: '0.0.0',
});
// The document's own members are not JSON Schema keywords; naming them lets strict mode check the rest.
const ajv = new Ajv2020({ strict: true, keywords: ['openapi', 'info', 'paths', 'components'] });
addFormats(ajv, { keywords: false });
ajv.addSchema(document, 'https://event-pipeline.invalid/openapi.json');
const bodySchemaOf = (mediaType: string) =>
  ajv.compile({
    $ref: `https://event-pipeline.invalid/openapi.json#/paths/~1events/post/requestBody/content/${mediaType.replace('/', '~1')}/schema`,
  });

const MEDIA_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];
const documentAccepts = Object.fromEntries(MEDIA_TYPES.map((type) => [type, bodySchemaOf(type)]));

async function serverAccepts(mediaType: string, body: unknown): Promise<boolean> {
  const response = await request(app).post('/events').set('content-type', mediaType).send(JSON.stringify(body));
  if (response.status === 202) return true;
  // A refusal is the client's fault, named as such; a 5xx here would be a bug, not a verdict.
  expect({ status: response.status, type: response.body.type }).toEqual({
    status: 400,
    type: 'urn:event-pipeline:problem:invalid-event',
  });
  return false;
}

const long = (length: number, unit = 'x') => unit.repeat(length);
/** An override of the base event; undefined removes the member. */
type Override = Record<string, unknown>;

const attributeCases: Array<[string, Override]> = [
  ['nothing changed', {}],
  ['an empty id', { id: '' }],
  ['a 256-character id', { id: long(256) }],
  ['a 257-character id', { id: long(257) }],
  ['an id of 256 characters outside the BMP (512 UTF-16 units)', { id: long(256, '😀') }],
  ['an id of 257 characters outside the BMP', { id: long(257, '😀') }],
  ['an id that is a number', { id: 5 }],
  ['an id that is null', { id: null }],
  ['an empty type', { type: '' }],
  ['a 256-character type', { type: long(256) }],
  ['a 257-character type', { type: long(257) }],
  ['a type that is an object', { type: { a: 1 } }],
  ['no type', { type: undefined }],
  ['an empty source', { source: '' }],
  ['a 1024-character source', { source: long(1024) }],
  ['a 1025-character source', { source: long(1025) }],
  ['a URL as source', { source: 'https://example.com/shop?x=1#y' }],
  ['a URN as source', { source: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' }],
  ['a source with a space', { source: 'my shop' }],
  ['a source with a bad percent-escape', { source: '/a%zz' }],
  ['a source with a non-ASCII character', { source: '/café' }],
  ['an empty subject', { subject: '' }],
  ['a 1024-character subject', { subject: long(1024) }],
  ['a 1025-character subject', { subject: long(1025) }],
  ['a subject that is a number', { subject: 7 }],
  ['a time in UTC', { time: '2026-01-02T03:04:05Z' }],
  ['a time with fractions and an offset', { time: '2026-01-02T03:04:05.123456+01:00' }],
  ['a time on 29 February of a leap year', { time: '2024-02-29T00:00:00Z' }],
  ['a time on 29 February of another year', { time: '2023-02-29T00:00:00Z' }],
  ['a time on 30 February', { time: '2026-02-30T00:00:00Z' }],
  ['a time with a space for T', { time: '2026-01-02 03:04:05Z' }],
  ['a time with a lower-case z', { time: '2026-01-02T03:04:05z' }],
  ['a time without seconds', { time: '2026-01-02T03:04Z' }],
  ['a time without an offset', { time: '2026-01-02T03:04:05' }],
  ['a time with an offset of 24 hours', { time: '2026-01-02T03:04:05+24:00' }],
  ['a time on a leap second', { time: '2016-12-31T23:59:60Z' }],
  ['a time that is a word', { time: 'noon' }],
  ['a time that is a number', { time: 1_767_323_045 }],
  ['an empty time', { time: '' }],
  ['an id with a line feed', { id: 'a\nb' }],
  ['an id with a C1 control character (U+0085)', { id: 'a\u0085b' }],
  ['a type with DEL', { type: 'a\u007fb' }],
  ['a subject with an unpaired surrogate', { subject: 'a\ud800b' }],
  ['a source with a surrogate pair (an emoji, percent-encoded or not)', { source: '/\ud83d\ude00' }],
];

const cloudEventCases: Array<[string, Override]> = [
  ...attributeCases,
  ['specversion 0.3', { specversion: '0.3' }],
  ['specversion as a number', { specversion: 1 }],
  ['no specversion', { specversion: undefined }],
  ['no id', { id: undefined }],
  ['no source', { source: undefined }],
  ['a datacontenttype', { datacontenttype: 'application/json' }],
  ['an empty datacontenttype', { datacontenttype: '' }],
  ['a 257-character datacontenttype', { datacontenttype: long(257) }],
  ['an absolute URL as dataschema', { dataschema: 'https://example.com/schemas/order.json' }],
  ['a URN as dataschema', { dataschema: 'urn:event-pipeline:schema:order:1' }],
  ['a relative reference as dataschema', { dataschema: '/schemas/order.json' }],
  ['a dataschema that is not a URI', { dataschema: 'not a uri' }],
  ['a dataschema with a space in its path', { dataschema: 'http://example.com/a b' }],
  ['an empty dataschema', { dataschema: '' }],
  ['a 1025-character dataschema', { dataschema: 'urn:' + long(1021) }],
  ['a string extension', { tenant: 'acme' }],
  ['an integer extension', { priority: 3 }],
  ['a boolean extension', { sampled: true }],
  ['a 4096-character extension', { note: long(4096) }],
  ['a 4097-character extension', { note: long(4097) }],
  ['an extension of 4096 characters outside the BMP', { note: long(4096, '😀') }],
  ['a float extension', { ratio: 1.5 }],
  ['an integer extension beyond 2^53', { big: 2 ** 53 }],
  ['an object extension', { nested: { a: 1 } }],
  ['an array extension', { list: [1] }],
  ['a null extension', { gone: null }],
  ['an extension name with capitals', { Tenant: 'x' }],
  ['an extension name with a dash', { 'my-ext': 'x' }],
  ['an extension name with an underscore', { my_ext: 'x' }],
  ['a 64-character extension name', { [long(64, 'a')]: 'x' }],
  ['a 65-character extension name', { [long(65, 'a')]: 'x' }],
  ['an empty extension name', { '': 'x' }],
  ['the CloudEvents 0.3 name schemaurl as an extension', { schemaurl: 'https://example.com/s' }],
  ['an extension with a control character', { tenant: 'ac\u0000me' }],
  ['an extension with an unpaired surrogate', { tenant: '\udc00' }],
  ['authid set by the client', { authid: 'someone' }],
  ['authtype set by the client', { authtype: 'api_key' }],
  ['authclaims set by the client', { authclaims: 'x' }],
  ['JSON data', { data: { a: [1, 2] } }],
  ['null data', { data: null }],
  ['string data', { data: 'text' }],
  ['data_base64', { data_base64: 'aGk=' }],
  ['an empty data_base64', { data_base64: '' }],
  ['data_base64 without its padding', { data_base64: 'aGk' }],
  ['data_base64 with padding inside', { data_base64: 'a=b=' }],
  ['data_base64 with characters outside the alphabet', { data_base64: '!!!!' }],
  ['data_base64 that is a number', { data_base64: 5 }],
  ['data and data_base64 together', { data: 1, data_base64: 'aGk=' }],
  ['two errors at once', { id: '', Tenant: 'x' }],
];

const plainCases: Array<[string, Override]> = [
  ...attributeCases,
  ['data of any JSON', { data: [1, { a: null }] }],
  ['an id and a source of its own', { id: 'p-1', source: '/mine' }],
  ['an unknown member', { extra: 1 }],
  ['two unknown members', { extra: 1, more: 2 }],
  ['a specversion (plain events have none)', { specversion: '1.0' }],
  ['a datacontenttype (plain events have none)', { datacontenttype: 'application/json' }],
  ['an extension (plain events have none)', { tenant: 'acme' }],
];

function withOverride(base: Record<string, unknown>, override: Override): Record<string, unknown> {
  const event: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(override)) {
    if (value === undefined) delete event[name];
    else event[name] = value;
  }
  return event;
}

const cloudEvent = (override: Override) =>
  withOverride({ specversion: '1.0', id: 'e-1', source: '/shop', type: 'com.example.thing' }, override);
const plainEvent = (override: Override) => withOverride({ type: 'com.example.thing' }, override);

const bodyCases: Array<[string, string, unknown]> = [
  ['application/cloudevents+json', 'an array', [cloudEvent({})]],
  ['application/cloudevents+json', 'a JSON string', 'text'],
  ['application/cloudevents+json', 'null', null],
  ['application/cloudevents-batch+json', 'one object, not an array', cloudEvent({})],
  ['application/cloudevents-batch+json', 'an empty array', []],
  ['application/cloudevents-batch+json', 'a full batch', Array.from({ length: MAX_EVENTS }, () => cloudEvent({}))],
  [
    'application/cloudevents-batch+json',
    'one event over the limit',
    Array.from({ length: MAX_EVENTS + 1 }, () => cloudEvent({})),
  ],
  ['application/cloudevents-batch+json', 'an item that is a number', [cloudEvent({}), 1]],
  ['application/cloudevents-batch+json', 'an item that is an array', [[cloudEvent({})]]],
  ['application/cloudevents-batch+json', 'one bad item among good ones', [cloudEvent({}), cloudEvent({ id: '' })]],
  ['application/json', 'a batch', [plainEvent({}), plainEvent({ id: 'p-2' })]],
  ['application/json', 'an empty batch', []],
  ['application/json', 'one event over the limit', Array.from({ length: MAX_EVENTS + 1 }, () => plainEvent({}))],
  ['application/json', 'one bad item among good ones', [plainEvent({}), plainEvent({ type: '' })]],
  ['application/json', 'a number', 42],
  ['application/json', 'null', null],
  ['application/json', 'a batch holding a batch', [[plainEvent({})]]],
];

const cases: Array<[string, string, unknown]> = [
  ...cloudEventCases.map(([name, override]): [string, string, unknown] => [
    'application/cloudevents+json',
    name,
    cloudEvent(override),
  ]),
  ...cloudEventCases.map(([name, override]): [string, string, unknown] => [
    'application/cloudevents-batch+json',
    name,
    [cloudEvent(override)],
  ]),
  ...plainCases.map(([name, override]): [string, string, unknown] => ['application/json', name, plainEvent(override)]),
  ...plainCases.map(([name, override]): [string, string, unknown] => [
    'application/json',
    `${name}, in a batch`,
    [plainEvent(override)],
  ]),
  ...bodyCases,
];

describe('the OpenAPI document and the server', () => {
  it.each(cases)('when %s carries %s, then both give the same verdict', async (mediaType, _name, body) => {
    const accepted = await serverAccepts(mediaType, body);
    expect({ documentAccepts: documentAccepts[mediaType]!(body) }).toEqual({ documentAccepts: accepted });
  });

  it('accept some cases and refuse others, so the agreement above means something', async () => {
    const verdicts = await Promise.all(cases.map(([mediaType, , body]) => serverAccepts(mediaType, body)));
    expect(verdicts.filter(Boolean).length).toBeGreaterThan(30);
    expect(verdicts.filter((verdict) => !verdict).length).toBeGreaterThan(100);
  });
});

// Issue 29: the document gave the ce- headers as plain strings while the server refused values
// that were not "1.0", RFC 3339 or an absolute URI, and gave Idempotency-Key a minimum length
// the server did not hold (an empty header was taken as none).
const parameters = (
  document.paths as Record<string, { post?: { parameters?: Array<{ name: string; schema: object }> } }>
)['/events']!.post!.parameters!;
const headerAccepts = (header: string) => {
  const parameter = parameters.find((candidate) => candidate.name.toLowerCase() === header);
  if (!parameter) throw new Error(`the document has no parameter ${header}`);
  return ajv.compile(parameter.schema);
};

const BINARY_BASE: Record<string, string> = {
  'ce-specversion': '1.0',
  'ce-id': 'e-1',
  'ce-source': '/shop',
  'ce-type': 'com.example.thing',
};

async function serverAcceptsHeader(header: string, value: string): Promise<boolean> {
  // Binary mode for the ce- headers; Idempotency-Key belongs to the plain mode.
  const response = header.startsWith('ce-')
    ? await request(app)
        .post('/events')
        .set({ ...BINARY_BASE, [header]: value, 'content-type': 'text/plain' })
        .send('hello')
    : await request(app)
        .post('/events')
        .set({ [header]: value, 'content-type': 'application/json' })
        .send(JSON.stringify({ type: 'com.example.thing' }));
  if (response.status === 202) return true;
  expect(response.status).toBe(400);
  expect(['urn:event-pipeline:problem:invalid-event', 'urn:event-pipeline:problem:invalid-header']).toContain(
    response.body.type,
  );
  return false;
}

const headerCases: Array<[string, string, string]> = [
  ['ce-specversion', '1.0', 'the only version'],
  ['ce-specversion', '0.3', 'an older version'],
  ['ce-specversion', '1', 'a version without its minor'],
  ['ce-specversion', 'v1.0', 'a version with a prefix'],
  ['ce-id', 'x'.repeat(256), 'a 256-character id'],
  ['ce-id', 'x'.repeat(257), 'a 257-character id'],
  ['ce-id', '', 'an empty id'],
  ['ce-source', 'https://example.com/shop?x=1#y', 'a URL'],
  ['ce-source', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', 'a URN'],
  ['ce-source', 'my shop', 'a source with a space'],
  ['ce-source', 'x'.repeat(1024), 'a 1024-character source'],
  ['ce-source', 'x'.repeat(1025), 'a 1025-character source'],
  ['ce-type', '', 'an empty type'],
  ['ce-type', 'x'.repeat(257), 'a 257-character type'],
  ['ce-subject', '', 'an empty subject'],
  ['ce-subject', 'x'.repeat(1024), 'a 1024-character subject'],
  ['ce-subject', 'x'.repeat(1025), 'a 1025-character subject'],
  ['ce-time', '2026-01-02T03:04:05Z', 'a time in UTC'],
  ['ce-time', '2026-01-02T03:04:05.123456+01:00', 'a time with fractions and an offset'],
  ['ce-time', '2024-02-29T00:00:00Z', 'a time on 29 February of a leap year'],
  ['ce-time', '2023-02-29T00:00:00Z', 'a time on 29 February of another year'],
  ['ce-time', '2026-01-02 03:04:05Z', 'a time with a space for T'],
  ['ce-time', '2026-01-02T03:04:05z', 'a time with a lower-case z'],
  ['ce-time', '2026-01-02T03:04:05', 'a time without an offset'],
  ['ce-time', '2016-12-31T23:59:60Z', 'a time on a leap second'],
  ['ce-time', 'noon', 'a time that is a word'],
  ['ce-time', '', 'an empty time'],
  ['ce-dataschema', 'https://example.com/schemas/order.json', 'an absolute URL'],
  ['ce-dataschema', 'urn:event-pipeline:schema:order:1', 'a URN'],
  ['ce-dataschema', '/schemas/order.json', 'a relative reference'],
  ['ce-dataschema', 'not a uri', 'a dataschema that is not a URI'],
  ['ce-dataschema', 'http://example.com/a b', 'a dataschema with a space in its path'],
  ['ce-dataschema', '', 'an empty dataschema'],
  ['ce-dataschema', 'urn:' + 'x'.repeat(1021), 'a 1025-character dataschema'],
  ['idempotency-key', 'retry-1', 'a key'],
  ['idempotency-key', 'k'.repeat(255), 'a 255-character key'],
  ['idempotency-key', 'k'.repeat(256), 'a 256-character key'],
  ['idempotency-key', 'has space', 'a key with a space'],
  ['idempotency-key', '', 'an empty key'],
];

describe('the OpenAPI document and the server, on headers', () => {
  it.each(headerCases.map(([header, value, name]) => [header, name, value]))(
    'when %s carries %s, then both give the same verdict',
    async (header, _name, value) => {
      const accepted = await serverAcceptsHeader(header!, value!);
      expect({ documentAccepts: headerAccepts(header!)(value) }).toEqual({ documentAccepts: accepted });
    },
  );

  it('accept some header values and refuse others, so the agreement above means something', async () => {
    const verdicts = await Promise.all(headerCases.map(([header, value]) => serverAcceptsHeader(header, value)));
    expect(verdicts.filter(Boolean).length).toBeGreaterThan(10);
    expect(verdicts.filter((verdict) => !verdict).length).toBeGreaterThan(20);
  });
});
