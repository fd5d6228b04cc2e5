import { trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import request from 'supertest';
import {
  createLogger,
  createMetricsRegistry,
  SchemaRegistryUnavailableError,
  type OutboundRecord,
} from '@event-pipeline/common';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import { createApp } from './app';
import { createProducerMetrics } from './metrics';
import { PublishError, type EventPublisher } from './kafka/event-publisher';

// The HTTP edge's answers to each way a publish can fail. Kafka itself is exercised by the
// end-to-end tests; here a stand-in publisher fails on demand.
function appWith(publish: EventPublisher['publish'], { draining = false } = {}) {
  const registry = createMetricsRegistry();
  const published: OutboundRecord[][] = [];
  const publisher: EventPublisher = {
    publish: async (records) => {
      published.push(records);
      return publish(records);
    },
    readiness: () => ({ ready: true }),
  };
  const app = createApp({
    publisher,
    logger: createLogger({ service: 'test', level: 'silent' }),
    registry,
    metrics: createProducerMetrics(registry),
    bodyLimitBytes: 100_000,
    maxEventsPerRequest: 100,
    eventSource: 'urn:test',
    retryAfterSeconds: 3,
    isDraining: () => draining,
  });
  return { server: app.callback(), registry, published };
}

const batch = [
  { type: 'a', subject: 's-1', data: { n: 1 } },
  { type: 'b', id: 'mine', time: '2026-01-01T00:00:00+02:00' },
];

describe('POST /events', () => {
  it('answers 202 with the ids, in request order, after the publish resolved', async () => {
    const { server, published } = appWith(async () => undefined);
    const response = await request(server).post('/events').send(batch).expect(202);
    expect(response.body.ids).toHaveLength(2);
    expect(response.body.ids[1]).toBe('mine');
    expect(published[0]!.map((record) => record.headers.ce_id)).toEqual(response.body.ids);
    expect(published[0]![0]!.key).toBe('s-1');
    expect(published[0]![1]!.headers.ce_time).toBe('2026-01-01T00:00:00+02:00');
  });

  it.each([
    ['overloaded', 'overloaded', 'overloaded'],
    ['timeout', 'kafka-unavailable', 'failed'],
    ['unavailable', 'kafka-unavailable', 'failed'],
    ['failed', 'kafka-unavailable', 'failed'],
  ] as const)('answers a %s publish with 503 %s and Retry-After', async (failure, problem, outcome) => {
    const { server, registry } = appWith(async () => {
      throw new PublishError({ failure }, `it ${failure}`);
    });
    const response = await request(server).post('/events').send(batch).expect(503);
    expect(response.headers['retry-after']).toBe('3');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.type).toBe(`urn:event-pipeline:problem:${problem}`);
    const metrics = await registry.metrics();
    expect(metrics).toContain(`events_ingested_total{outcome="${outcome}"} 2`);
    expect(metrics).toContain('events_ingested_total{outcome="accepted"} 0');
  });

  it('turns new events away while draining, closing the connection', async () => {
    const { server, published } = appWith(async () => undefined, { draining: true });
    const response = await request(server).post('/events').send(batch).expect(503);
    expect(response.body.type).toBe('urn:event-pipeline:problem:shutting-down');
    expect(response.headers.connection).toBe('close');
    expect(published).toEqual([]);
  });

  it('answers an unexpected failure with a 500 problem that hides the cause', async () => {
    const { server } = appWith(async () => {
      throw new TypeError('secret internals');
    });
    const response = await request(server).post('/events').send(batch).expect(500);
    expect(response.body).toEqual({
      type: 'urn:event-pipeline:problem:internal',
      title: 'Internal server error',
      status: 500,
      instance: '/events',
    });
  });

  it('labels the latency histogram with the route template, never the raw path', async () => {
    const { server, registry } = appWith(async () => undefined);
    await request(server).get('/no/such/path?id=42').expect(404);
    await request(server).get('/health/live').expect(200);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      /http_server_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/,
    );
    expect(metrics).toMatch(/route="\/health\/live"/);
    expect(metrics).not.toContain('/no/such/path');
  });
});

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('GET /metrics', () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());

  /** A client's trace context, which the request's server span continues. */
  const traceparentOf = ({ traceId, spanId, traceFlags }: SpanContext) =>
    `00-${traceId}-${spanId}-0${traceFlags.toString(16)}`;

  const eventsBuckets = (exposition: string) =>
    exposition
      .split('\n')
      .filter((line) => /^http_server_request_duration_seconds_bucket\{.*route="\/events"/.test(line));

  it("answers a Prometheus scrape with OpenMetrics, the request's trace as exemplar of its latency", async () => {
    const { server } = appWith(async () => undefined);
    const span = trace.getTracer('test').startSpan('POST /events');
    await request(server).post('/events').set('traceparent', traceparentOf(span.spanContext())).send(batch).expect(202);
    span.end();

    const response = await request(server).get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
    expect(response.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(response.headers.vary).toBe('accept');
    const withExemplar = eventsBuckets(response.text).filter((line) =>
      line.includes(`# {trace_id="${span.spanContext().traceId}"}`),
    );
    expect(withExemplar).toHaveLength(1);
    expect(response.text).toContain('events_ingested_total{outcome="accepted"} 2');
  });

  it('answers curl with the classic text format, without exemplars', async () => {
    const { server } = appWith(async () => undefined);
    const span = trace.getTracer('test').startSpan('POST /events');
    await request(server).post('/events').set('traceparent', traceparentOf(span.spanContext())).send(batch).expect(202);
    span.end();

    const response = await request(server).get('/metrics').set('accept', '*/*').expect(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(eventsBuckets(response.text).length).toBeGreaterThan(0);
    expect(response.text).not.toContain('trace_id');
    expect(response.text).toContain('# TYPE events_ingested_total counter');
  });

  it('gives a request whose trace is not sampled no exemplar', async () => {
    const { server } = appWith(async () => undefined);
    const unsampled = {
      traceId: '5b8aa5a2d2c872e8321cf37308d69df2',
      spanId: '051581bf3cb55c13',
      traceFlags: TraceFlags.NONE,
    };
    await request(server).post('/events').set('traceparent', traceparentOf(unsampled)).send(batch).expect(202);

    const response = await request(server).get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
    expect(eventsBuckets(response.text).length).toBeGreaterThan(0);
    expect(response.text).not.toContain('trace_id');
  });
});

// Issue 29: a method no route has (TRACE) answered 501, a server error, for a client's choice.
describe('a method the resource does not have', () => {
  it.each(['TRACE', 'PUT', 'DELETE', 'PATCH'])(
    'answers %s with a 405 problem that names the allowed ones',
    async (method) => {
      const { server, published } = appWith(async () => undefined);
      const response = await request(server)[method.toLowerCase() as 'put']('/events').expect(405);
      expect(response.headers.allow).toBe('POST');
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: 'urn:event-pipeline:problem:method-not-allowed', status: 405 });
      expect(published).toEqual([]);
    },
  );

  it('answers TRACE on a read-only resource with 405 and Allow: HEAD, GET', async () => {
    const { server } = appWith(async () => undefined);
    const response = await request(server).trace('/health/live').expect(405);
    expect(response.headers.allow).toBe('HEAD, GET');
  });
});

// Issue 29: Kafka's and the registry's own error text (broker and registry addresses, their
// errors) reached anyone who asked /health/ready or got a 503.
describe("a dependency's own words", () => {
  const KAFKA_WORDS = 'Connection error: connect ECONNREFUSED 10.0.0.7:9092';
  const REGISTRY_WORDS = 'schema registry: connect ECONNREFUSED 10.0.0.8:8081';

  function appLogging({
    publisher,
    schemas,
  }: {
    publisher: EventPublisher;
    schemas?: Parameters<typeof createApp>[0]['schemas'];
  }): { server: ReturnType<ReturnType<typeof createApp>['callback']>; lines: () => string } {
    let lines = '';
    const registry = createMetricsRegistry();
    const app = createApp({
      publisher,
      logger: createLogger({ service: 'test', destination: { write: (line: string) => void (lines += line) } }),
      registry,
      metrics: createProducerMetrics(registry),
      bodyLimitBytes: 100_000,
      maxEventsPerRequest: 100,
      eventSource: 'urn:test',
      retryAfterSeconds: 3,
      ...(schemas ? { schemas } : {}),
    });
    return { server: app.callback(), lines: () => lines };
  }

  it('stay out of /health/ready', async () => {
    const { server } = appLogging({
      publisher: { publish: async () => undefined, readiness: () => ({ ready: false, reason: KAFKA_WORDS }) },
    });
    const response = await request(server).get('/health/ready').expect(503);
    expect(response.body).toEqual({ status: 'not ready', reason: 'kafka unavailable' });
  });

  it("stay out of a 503's problem, and go to the log", async () => {
    const { server, lines } = appLogging({
      publisher: {
        publish: async () => {
          throw new PublishError({ failure: 'unavailable' }, `kafka did not take the events: ${KAFKA_WORDS}`);
        },
        readiness: () => ({ ready: true }),
      },
    });
    const response = await request(server).post('/events').send(batch).expect(503);
    expect(response.body.type).toBe('urn:event-pipeline:problem:kafka-unavailable');
    expect(JSON.stringify(response.body)).not.toMatch(/ECONNREFUSED|10\.0\.0\.7/);
    expect(lines()).toContain(KAFKA_WORDS);
  });

  it("stay out of the schema registry's 503, and go to the log", async () => {
    const unreachable = async (): Promise<never> => {
      throw new SchemaRegistryUnavailableError(REGISTRY_WORDS);
    };
    const { server, lines } = appLogging({
      publisher: { publish: async () => undefined, readiness: () => ({ ready: true }) },
      schemas: { forTypes: unreachable, current: unreachable },
    });
    for (const response of [
      await request(server).post('/events').send(batch).expect(503),
      await request(server).get('/openapi.json').expect(503),
    ]) {
      expect(response.body.type).toBe('urn:event-pipeline:problem:schema-registry-unavailable');
      expect(JSON.stringify(response.body)).not.toMatch(/ECONNREFUSED|10\.0\.0\.8/);
    }
    expect(lines()).toContain(REGISTRY_WORDS);
  });
});
