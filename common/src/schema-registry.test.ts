import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import { classicText, createMetricsRegistry } from './metrics';
import {
  SchemaRegistryClient,
  schemaRegistryOf,
  SchemaRegistryUnavailableError,
  wireSchemaId,
  WIRE_HEADER_BYTES,
} from './schema-registry';

describe('the Confluent wire format', () => {
  it('reads the schema id after the magic byte 0', () => {
    const value = Buffer.from([0, 0, 0, 1, 2, 0xaa]);
    expect(wireSchemaId(value)).toBe(258);
  });

  it('says a value is not in it when the magic byte is not 0 or the header is cut short', () => {
    expect(wireSchemaId(Buffer.from([1, 0, 0, 0, 5, 0]))).toBeUndefined();
    expect(wireSchemaId(Buffer.alloc(WIRE_HEADER_BYTES - 1))).toBeUndefined();
    expect(wireSchemaId(Buffer.from('{"json":true}'))).toBeUndefined();
  });
});

describe("a service's registry client, from its settings", () => {
  it('is none without SCHEMA_REGISTRY_URL, and registers no metrics', async () => {
    const metrics = createMetricsRegistry();
    expect(schemaRegistryOf({ SCHEMA_REGISTRY_TIMEOUT_MS: 5000 }, metrics)).toBeUndefined();
    expect(await classicText(metrics)).not.toContain('events_schema_registry');
  });

  it('asks the URL given, and reports to the metrics it registers', async () => {
    const metrics = createMetricsRegistry();
    const access = schemaRegistryOf(
      { SCHEMA_REGISTRY_URL: 'http://registry:8081/apis/ccompat/v7/', SCHEMA_REGISTRY_TIMEOUT_MS: 5000 },
      metrics,
    );
    expect(access.client.url).toBe('http://registry:8081/apis/ccompat/v7');
    expect(access.client.schemaUrl(3)).toBe('http://registry:8081/apis/ccompat/v7/schemas/ids/3');
    expect(await classicText(metrics)).toContain('events_schema_registry_reachable 1');
  });
});

describe('a registry that takes the connection and never answers', () => {
  // Accepts, reads the request, answers nothing: a stalled or half-dead registry.
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("fails a schema lookup within the client's bound, as unavailable, and the next lookup asks again", async () => {
    const client = new SchemaRegistryClient({ url, timeoutMs: 300 });
    for (const attempt of [1, 2]) {
      const started = performance.now();
      await expect(client.avroType(7)).rejects.toBeInstanceOf(SchemaRegistryUnavailableError);
      // Bounded each time: a hung request is not shared with the next lookup of the id.
      expect({ attempt, bounded: performance.now() - started < 5000 }).toEqual({ attempt, bounded: true });
    }
  });

  it('fails the calls it makes itself within the same bound', async () => {
    const client = new SchemaRegistryClient({ url, timeoutMs: 300 });
    await expect(client.subjects()).rejects.toBeInstanceOf(SchemaRegistryUnavailableError);
  });
});

describe("a registry call's span", () => {
  // A registry that is down behind its proxy: every call answered 503.
  let server: Server;
  let url: string;
  let tracing: TestTracing;
  beforeAll(async () => {
    tracing = startTestTracing();
    server = createServer((_request, response) => response.writeHead(503).end('{"message":"down"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
  });
  afterAll(async () => {
    await tracing.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is an HTTP client span that says the call failed, and why', async () => {
    const client = new SchemaRegistryClient({ url, timeoutMs: 5000 });
    await expect(client.subjects()).rejects.toBeInstanceOf(SchemaRegistryUnavailableError);
    const [span] = tracing.exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: 'schema-registry subjects', kind: SpanKind.CLIENT });
    expect(span!.attributes).toEqual({
      'schema_registry.operation': 'subjects',
      'http.request.method': 'GET',
      'url.full': `${url}/subjects`,
      'http.response.status_code': 503,
      'error.type': 'SchemaRegistryUnavailableError',
    });
    expect(span!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: `schema registry at ${url} answered 503: down`,
    });
  });
});
