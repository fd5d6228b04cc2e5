import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { listen } from '@event-pipeline/common';
import type { Jaeger } from '../../scripts/jaeger/jaeger';
import { handlerModule } from '../support/handlers';
import { ancestorsOf, findTraces, startTestJaeger, waitForEventTrace, type TraceSpan } from '../support/jaeger';
import { readTopic, uniqueName } from '../support/kafka';
import { postJson } from '../support/pipeline';
import { spawnPipeline, type ServiceProcess } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(300_000);

const MAX_ATTEMPTS = 3;

function only(spans: TraceSpan[], what: string, match: (span: TraceSpan) => boolean): TraceSpan {
  const found = spans.filter(match);
  if (found.length !== 1) {
    const names = spans.map((span) => `${span.service}:${span.name}`).join(', ');
    throw new Error(`expected one ${what} in the trace, found ${found.length} among ${names}`);
  }
  return found[0]!;
}

function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}

// Both services run as separate processes with the telemetry bootstrap preloaded, exporting to a
// real Jaeger; the assertions read the traces back from Jaeger's query API.
describe('tracing from the HTTP request through Kafka to the worker', () => {
  const topic = uniqueName('events');
  const dlq = `${topic}.dlq`;
  let jaeger: Jaeger;
  let producer: ServiceProcess;
  let consumer: ServiceProcess;
  let webhook: Server;
  const webhookCalls: IncomingHttpHeaders[] = [];

  const traceOfEvent = (id: string, needs: (spans: TraceSpan[]) => boolean): Promise<TraceSpan[]> =>
    waitForEventTrace(jaeger.queryUrl, id, needs);

  const processedIn = (spans: TraceSpan[]): number =>
    spans.filter((span) => span.service === 'consumer' && span.name === `process ${topic}`).length;

  beforeAll(async () => {
    jaeger = await startTestJaeger(10_300);
    webhook = createServer((request, response) => {
      webhookCalls.push(request.headers);
      response.writeHead(204).end();
    });
    const webhookPort = await listen(webhook, 0, '127.0.0.1');
    // Only the standard variables: service.name comes from each service's package.
    const telemetry = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
    ({ producer, consumer } = await spawnPipeline({
      topic,
      env: telemetry,
      telemetry: true,
      consumerEnv: {
        // Fails every attempt for one event type, so its retries and dead-lettering show.
        HANDLER_MODULE: handlerModule('failing-or-webhook'),
        MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        RETRY_INITIAL_DELAY_MS: '20',
        RETRY_MAX_DELAY_MS: '100',
        WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/hook`,
      },
    }));
  });

  afterAll(async () => {
    for (const service of [producer, consumer]) {
      if (!service) continue;
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
    await jaeger?.stop();
    webhook?.close();
  });

  it('gives each of 10 events sent at once its own trace: HTTP server span, send span, one consumer process span', async () => {
    // Sent concurrently, so the producer coalesces them into shared Kafka requests.
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        postJson(producer.url, { type: 'order.created', subject: `order-${index}`, data: { index } }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(202));
    const ids = await Promise.all(
      responses.map(async (response) => ((await response.json()) as { ids: string[] }).ids[0]!),
    );

    const traceIds = new Set<string>();
    for (const id of ids) {
      const spans = await traceOfEvent(id, (trace) => processedIn(trace) === 1);
      const server = only(spans, 'HTTP server span', (span) => span.service === 'producer' && span.kind === 'server');
      expect(server.name).toBe('POST /events');
      expect(server.tags['http.route']).toBe('/events');
      expect(server.tags['http.response.status_code']).toBe(202);

      const send = only(spans, 'send span', (span) => span.kind === 'producer');
      expect(send).toMatchObject({ service: 'producer', name: `send ${topic}` });
      expect(send.tags).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.message.id': id,
        'messaging.kafka.message.key': send.tags['messaging.kafka.message.key'],
      });
      expect(ancestorsOf(send, spans)).toContain(server);

      const processed = only(spans, 'consumer span', (span) => span.kind === 'consumer');
      expect(processed).toMatchObject({ service: 'consumer', name: `process ${topic}`, parentId: send.spanId });
      expect(processed.tags).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'cloudevents.event_id': id,
      });
      expect(processed.tags['messaging.kafka.offset']).toBeDefined();
      // Handled at once: the process span, carrying the outcome, is the consumer's only span.
      expect(processed.tags).toMatchObject({ 'event.outcome': 'handled', 'event.attempts': 1 });
      expect(spans.filter((span) => span.service === 'consumer')).toEqual([processed]);
      traceIds.add(server.traceId);
    }
    expect(traceIds.size).toBe(10);
  });

  it("gives a batch request one HTTP span and one send span, which every event's consumer span continues", async () => {
    const response = await postJson(
      producer.url,
      Array.from({ length: 5 }, (_, index) => ({ type: 'page.viewed', data: { index } })),
    );
    expect(response.status).toBe(202);
    const { ids } = (await response.json()) as { ids: string[] };

    const spans = await traceOfEvent(ids[0]!, (trace) => processedIn(trace) === 5);
    const server = only(spans, 'HTTP server span', (span) => span.kind === 'server');
    const send = only(spans, 'send span of the batch', (span) => span.kind === 'producer');
    expect(send.name).toBe(`send ${topic}`);
    expect(send.tags).toMatchObject({ 'messaging.batch.message_count': 5, 'messaging.destination.name': topic });
    expect(ancestorsOf(send, spans)).toContain(server);
    for (const id of ids) {
      const processed = only(
        spans,
        `process span of ${id}`,
        (span) => span.kind === 'consumer' && span.tags['cloudevents.event_id'] === id,
      );
      expect(processed.parentId).toBe(send.spanId);
    }
  });

  it("shows each retry and the dead-letter write as spans under the failing event's process span, and the dead letter carries the trace", async () => {
    const response = await postJson(producer.url, { type: 'test.failing', data: { poison: true } });
    expect(response.status).toBe(202);
    const [id] = ((await response.json()) as { ids: string[] }).ids;

    const spans = await traceOfEvent(id!, (trace) => trace.some((span) => span.name === `send ${dlq}`));
    const processed = only(spans, 'consumer span', (span) => span.kind === 'consumer');
    expect(processed.tags['otel.status_code']).toBe('ERROR');
    expect(processed.tags).toMatchObject({ 'event.outcome': 'dead_lettered', 'event.attempts': MAX_ATTEMPTS });

    // The first attempt ran in the process span; each retry has a span of its own.
    const retries = spans.filter((span) => span.name === 'retry event' && span.parentId === processed.spanId);
    expect(retries.map((span) => span.tags['event.attempt']).sort()).toEqual([2, 3]);
    for (const retry of retries) expect(retry.tags['otel.status_code']).toBe('ERROR');
    expect(processed.events.filter((event) => event.event === 'retry')).toHaveLength(MAX_ATTEMPTS - 1);
    expect(processed.events.filter((event) => event.event === 'dead_letter')).toHaveLength(1);

    const deadLetterSend = only(spans, 'dead-letter send span', (span) => span.name === `send ${dlq}`);
    expect(deadLetterSend).toMatchObject({ service: 'consumer', kind: 'producer' });
    expect(deadLetterSend.parentId).toBe(processed.spanId);

    const deadLetters = await waitFor('the dead letter', async () => {
      const records = await readTopic(dlq);
      return records.length > 0 ? records : undefined;
    });
    const deadLetter = deadLetters.find((record) => record.headers.ce_id === id);
    expect(traceIdOf(deadLetter?.headers.traceparent)).toBe(processed.traceId);
  });

  it("carries the trace on to the handler's own HTTP calls", async () => {
    const response = await postJson(producer.url, { type: 'test.webhook' });
    const [id] = ((await response.json()) as { ids: string[] }).ids;
    const spans = await traceOfEvent(id!, (trace) => trace.some((span) => span.kind === 'client'));
    const handled = only(spans, 'consumer span', (span) => span.kind === 'consumer');
    const call = only(spans, 'HTTP client span', (span) => span.kind === 'client');
    expect(call).toMatchObject({ service: 'consumer', parentId: handled.spanId });
    expect(call.tags).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 204 });
    const received = webhookCalls.find((headers) => traceIdOf(headers.traceparent as string) === handled.traceId);
    expect(received?.traceparent).toBe(`00-${call.traceId}-${call.spanId}-01`);
  });

  // Issue 29: the SDK's default propagators wrote a client's `baggage` header into every record
  // of its request, for every later reader to trust.
  it("continues a client's traceparent, and carries none of its baggage into the record", async () => {
    const clientTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await postJson(
      producer.url,
      { type: 'order.created', data: { baggage: true } },
      { traceparent: `00-${clientTraceId}-00f067aa0ba902b7-01`, baggage: 'user.id=alice,tenant=acme' },
    );
    expect(response.status).toBe(202);
    const [id] = ((await response.json()) as { ids: string[] }).ids;
    const record = await waitFor('the record', async () =>
      (await readTopic(topic)).find((candidate) => candidate.headers.ce_id === id),
    );
    expect(traceIdOf(record.headers.traceparent)).toBe(clientTraceId);
    expect(Object.keys(record.headers).map((name) => name.toLowerCase())).not.toContain('baggage');
  });

  it('marks the span of a refused request with the type of its problem', async () => {
    const response = await postJson(producer.url, { data: { no: 'type' } });
    expect(response.status).toBe(400);
    const { type } = (await response.json()) as { type: string };
    const [trace] = await waitFor(
      'the trace of the refused request',
      async () => {
        const found = await findTraces(jaeger.queryUrl, { service: 'producer', tags: { 'problem.type': type } });
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const server = only(trace!, 'HTTP server span', (span) => span.kind === 'server');
    expect(server.tags).toMatchObject({ 'http.response.status_code': 400, 'problem.type': type });
    expect(trace!.some((span) => span.kind === 'producer')).toBe(false);
  });

  it("writes the event's trace id and the span id into the log lines of its processing", async () => {
    const response = await postJson(producer.url, { type: 'order.created', data: { logged: true } });
    const [id] = ((await response.json()) as { ids: string[] }).ids;
    const spans = await traceOfEvent(id!, (trace) => processedIn(trace) === 1);
    const handled = only(spans, 'consumer span', (span) => span.kind === 'consumer');

    const line = await waitFor('the log line of the processed event', () =>
      consumer
        .output()
        .split('\n')
        .find((text) => text.includes(`"event_id":"${id}"`) && text.includes('"msg":"event processed"')),
    );
    expect(JSON.parse(line)).toMatchObject({ trace_id: handled.traceId, span_id: handled.spanId });
  });
});
