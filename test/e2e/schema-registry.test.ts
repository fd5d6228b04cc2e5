import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CloudEvent } from '@event-pipeline/common';
import type { EventHandler, HandlerContext } from '../../consumer/src/handler';
import { DEAD_LETTER_HEADERS } from '../../consumer/src/dead-letter-headers';
import { readTopic, testBrokers, testKafka, topicRecordCount, uniqueName } from '../support/kafka';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { readWithPythonClient, runSchemasCli, startTestRegistry, type TestRegistry } from '../support/registry';
import { waitFor } from '../support/wait';

jest.setTimeout(240_000);

const REPO_SCHEMAS = path.resolve(__dirname, '../../schemas');
const PAYMENT = 'com.example.payment.authorized';
const EVOLVING = 'com.example.test.evolving';
const REFRESH_MS = 1000;

const payment = (n: number) => ({
  paymentId: `p-${n}`,
  orderId: `o-${n}`,
  amountCents: 1000 + n,
  currency: 'EUR',
  method: 'CARD',
});

/** A schema folder of the repo's schemas plus a test type, version 1 of it for now. */
function schemaFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
  cpSync(REPO_SCHEMAS, dir, { recursive: true });
  writeVersion(dir, 1, [{ name: 'name', type: 'string' }]);
  return dir;
}

function writeVersion(dir: string, version: number, fields: unknown[]): void {
  const folder = path.join(dir, EVOLVING);
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    path.join(folder, `${version}.avsc`),
    JSON.stringify({ type: 'record', namespace: 'com.example.test', name: 'evolving', fields }),
  );
}

describe('with a schema registry (real Apicurio, KafkaSQL on the test broker)', () => {
  const topic = uniqueName('events');
  const dlq = `${topic}.dlq`;
  const dir = schemaFolder();
  const handled: Array<{ event: CloudEvent; context: HandlerContext }> = [];
  const handler: EventHandler = {
    handle(event, context) {
      handled.push({ event: structuredClone(event), context });
    },
  };
  const handledById = (id: string) => handled.find((entry) => entry.event.id === id);
  let registry: TestRegistry;
  let producer: Awaited<ReturnType<typeof startProducer>>;
  let consumer: Awaited<ReturnType<typeof startConsumer>>;

  beforeAll(async () => {
    registry = await startTestRegistry({
      kind: 'kafkasql',
      bootstrapServers: testBrokers().join(','),
      topic: uniqueName('registry-journal'),
    });
  });

  afterAll(async () => {
    await producer?.stop();
    await consumer?.stop();
    await registry?.stop();
  });

  it('schemas:push registers the schemas; schemas:check passes; an incompatible version fails both with the registry reason', async () => {
    const pushed = await runSchemasCli('push', { dir, url: registry.url });
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`${PAYMENT} 2\\.avsc: registered \\(id \\d+, compatibility BACKWARD\\)`));
    const checked = await runSchemasCli('check', { dir, url: registry.url });
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain('all compatible');

    const broken = mkdtempSync(path.join(tmpdir(), 'schemas-'));
    cpSync(path.join(dir, EVOLVING), path.join(broken, EVOLVING), { recursive: true });
    // A new field without a default: data written with version 1 cannot be read with it.
    writeVersion(broken, 2, [
      { name: 'name', type: 'string' },
      { name: 'size', type: 'int' },
    ]);
    const refusedCheck = await runSchemasCli('check', { dir: broken, url: registry.url });
    expect(refusedCheck.code).toBe(1);
    expect(refusedCheck.stdout).toContain(`not compatible with the registered versions of ${EVOLVING}`);
    const refused = await runSchemasCli('push', { dir: broken, url: registry.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /the registry refused it \(409, compatibility BACKWARD\): .*Incompatible artifact.*size/,
    );
    const versions = (await (await fetch(`${registry.url}/subjects/${EVOLVING}/versions`)).json()) as number[];
    expect(versions).toEqual([1]);

    producer = await startProducer({
      EVENTS_TOPIC: topic,
      SCHEMA_REGISTRY_URL: registry.url,
      SCHEMA_REGISTRY_REFRESH_MS: String(REFRESH_MS),
      RETRY_AFTER_SECONDS: '2',
      // One process, so that the outage test's answers come from the process whose refresh it saw fail.
      PRODUCER_WORKERS: '1',
    });
    consumer = await startConsumer(
      {
        EVENTS_TOPIC: topic,
        DLQ_TOPIC: dlq,
        CONSUMER_GROUP: uniqueName('processor'),
        SCHEMA_REGISTRY_URL: registry.url,
        MAX_ATTEMPTS: '2',
        RETRY_INITIAL_DELAY_MS: '100',
        RETRY_MAX_DELAY_MS: '500',
      },
      handler,
    );
  });

  it('an Avro-typed event, in every HTTP mode, goes on the wire in the Confluent format and reaches the handler decoded', async () => {
    const latest = (await (await fetch(`${registry.url}/subjects/${PAYMENT}/versions/latest`)).json()) as {
      id: number;
      version: number;
    };
    const ce = { specversion: '1.0', source: 'urn:test', type: PAYMENT };
    const requests: Array<[unknown, Record<string, string>]> = [
      [{ id: 'plain-1', type: PAYMENT, data: payment(1) }, {}],
      [{ ...ce, id: 'structured-1', data: payment(2) }, { 'content-type': 'application/cloudevents+json' }],
      [
        [
          { ...ce, id: 'batch-1', data: payment(3) },
          { ...ce, id: 'batch-2', data: payment(4) },
        ],
        { 'content-type': 'application/cloudevents-batch+json' },
      ],
      [
        payment(5),
        {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': 'binary-1',
          'ce-source': 'urn:test',
          'ce-type': PAYMENT,
        },
      ],
    ];
    for (const [body, headers] of requests) {
      const response = await postJson(producer.url, body, headers);
      expect(response.status).toBe(202);
    }
    const ids = ['plain-1', 'structured-1', 'batch-1', 'batch-2', 'binary-1'];
    await waitFor('the five events handled', () => ids.every((id) => handledById(id)));

    const records = (await readTopic(topic)).filter((record) => ids.includes(record.headers.ce_id ?? ''));
    expect(records).toHaveLength(5);
    const raw = await rawValues(topic);
    for (const record of records) {
      expect(record.headers['content-type']).toBe('application/avro');
      expect(record.headers.ce_dataschema).toBe(`${registry.url}/schemas/ids/${latest.id}`);
      const value = raw.get(record.headers.ce_id!)!;
      expect(value[0]).toBe(0);
      expect(value.readInt32BE(1)).toBe(latest.id);
    }
    ids.forEach((id, index) => {
      const { event, context } = handledById(id)!;
      expect(event.data).toEqual({ ...payment(index + 1), provider: null });
      // A plain object, not one of avsc's generated record classes.
      expect((event.data as object).constructor.name).toBe('Object');
      expect(context.dataSchema).toEqual({ id: latest.id, subject: PAYMENT, version: latest.version });
    });
    // An independent reader, Confluent's Python AvroDeserializer on the same registry, decodes them too.
    const independent = await readWithPythonClient({ brokers: testBrokers().join(','), topic, url: registry.url }, 5);
    ids.forEach((id, index) => expect(independent.get(id)).toEqual({ ...payment(index + 1), provider: null }));
    // Avro is smaller on the wire than the JSON it came as.
    expect(raw.get('plain-1')!.length).toBeLessThan(Buffer.byteLength(JSON.stringify(payment(1))));
  });

  it('data that breaks the Avro schema gets 422 with a pointer per failing field, and nothing reaches the topic', async () => {
    const before = await topicRecordCount(topic);
    const response = await postJson(producer.url, [
      { id: 'fine', type: PAYMENT, data: payment(6) },
      { id: 'broken', type: PAYMENT, data: { ...payment(7), amountCents: 'ten', method: 'CASH', extra: true } },
    ]);
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { errors: Array<{ pointer: string }> };
    expect(problem.errors.map((error) => error.pointer).sort()).toEqual([
      '/1/data',
      '/1/data/amountCents',
      '/1/data/method',
    ]);
    expect(await topicRecordCount(topic)).toBe(before);
  });

  it('GET /schemas and /openapi.json show what the registry holds', async () => {
    const listed = (await (await fetch(`${producer.url}/schemas`)).json()) as {
      schemas: Array<{ type: string; version: number; format: string; registryId?: number }>;
    };
    expect(listed.schemas.filter((schema) => schema.type === PAYMENT).map((schema) => schema.version)).toEqual([1, 2]);
    expect(listed.schemas.find((schema) => schema.type === PAYMENT)).toMatchObject({ format: 'avro' });
    const openApi = (await (await fetch(`${producer.url}/openapi.json`)).json()) as {
      components: { schemas: Record<string, { required?: string[] }> };
    };
    expect(openApi.components.schemas[`${PAYMENT}.v2`]?.required).toEqual(
      expect.arrayContaining(['paymentId', 'amountCents']),
    );
  });

  it('a compatible new version is picked up within the refresh bound, and events of both versions are decoded', async () => {
    const v1 = await postJson(producer.url, { id: 'evolving-1', type: EVOLVING, data: { name: 'a' } });
    expect(v1.status).toBe(202);
    writeVersion(dir, 2, [
      { name: 'name', type: 'string' },
      { name: 'size', type: 'int', default: 0 },
    ]);
    const pushed = await runSchemasCli('push', { dir, url: registry.url });
    expect(pushed.code).toBe(0);
    const pushedAt = Date.now();
    let n = 0;
    await waitFor(
      'the producer to check against version 2',
      async () => {
        const response = await postJson(producer.url, {
          id: `evolving-probe-${n++}`,
          type: EVOLVING,
          data: { name: 'b', size: 3 },
        });
        return response.status === 202;
      },
      { timeoutMs: REFRESH_MS * 10, intervalMs: 100 },
    );
    // The bound: one refresh interval and the lookups it makes.
    expect(Date.now() - pushedAt).toBeLessThan(REFRESH_MS * 5);
    await waitFor('both versions handled', () => handledById('evolving-1') && handledById(`evolving-probe-${n - 1}`));
    expect(handledById('evolving-1')!.context.dataSchema?.version).toBe(1);
    expect(handledById('evolving-1')!.event.data).toEqual({ name: 'a' });
    const probe = handledById(`evolving-probe-${n - 1}`)!;
    expect(probe.context.dataSchema?.version).toBe(2);
    expect(probe.event.data).toEqual({ name: 'b', size: 3 });
  });

  it('a value with a wrong magic byte or an unknown schema id is dead-lettered with the reason, not retried', async () => {
    const producerClient = testKafka().producer();
    await producerClient.connect();
    const headers = (id: string) => ({
      ce_specversion: '1.0',
      ce_id: id,
      ce_source: 'urn:test',
      ce_type: PAYMENT,
      'content-type': 'application/avro',
    });
    const unknownId = Buffer.alloc(8);
    unknownId.writeInt32BE(987654, 1);
    await producerClient.send({
      topic,
      messages: [
        { key: 'x', value: Buffer.from([7, 0, 0, 0, 1, 2]), headers: headers('bad-magic') },
        { key: 'x', value: unknownId, headers: headers('unknown-schema') },
      ],
    });
    await producerClient.disconnect();
    await waitFor('two dead letters', async () => (await topicRecordCount(dlq)) >= 2, { timeoutMs: 60_000 });
    const letters = await readTopic(dlq);
    const reasonOf = (id: string) => letters.find((record) => record.headers.ce_id === id)?.headers;
    expect(reasonOf('bad-magic')).toMatchObject({
      [DEAD_LETTER_HEADERS.errorName]: 'UndecodableDataError',
      [DEAD_LETTER_HEADERS.errorMessage]: "the Avro value starts with byte 7, not the wire format's magic byte 0",
      [DEAD_LETTER_HEADERS.attempts]: '1',
    });
    expect(reasonOf('unknown-schema')).toMatchObject({
      [DEAD_LETTER_HEADERS.errorName]: 'UndecodableDataError',
      [DEAD_LETTER_HEADERS.errorMessage]: "the record's schema id 987654 is not in the schema registry",
    });
  });

  it("a crafted Avro record (a huge array count, millions of zero-size items, or another type's schema id) is dead-lettered with its reason; the group keeps consuming and loses nothing else", async () => {
    const tagged = 'com.example.test.tagged';
    const registered = await fetch(`${registry.url}/subjects/${tagged}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({
        schema: JSON.stringify({
          type: 'record',
          name: 'tagged',
          namespace: 'com.example.test',
          fields: [
            { name: 'tags', type: { type: 'array', items: 'int' } },
            { name: 'marks', type: { type: 'array', items: 'null' } },
          ],
        }),
      }),
    });
    expect(registered.status).toBe(200);
    const { id: taggedId } = (await registered.json()) as { id: number };
    const wire = (id: number, payload: number[]) => {
      const header = Buffer.alloc(5);
      header.writeInt32BE(id, 1);
      return Buffer.concat([header, Buffer.from(payload)]);
    };
    // A block of 200 million ints (zig-zag varint 400,000,000): six bytes after the wire header.
    const hugeCount = wire(taggedId, [0x80, 0x88, 0xde, 0xbe, 0x01, 0]);
    // No tags, then 20 million nulls: items of size zero, which avsc decodes and keeps (160 MB of array).
    const zeroSized = wire(taggedId, [0, 0x80, 0xb4, 0x89, 0x13, 0]);
    const headers = (id: string, type: string) => ({
      ce_specversion: '1.0',
      ce_id: id,
      ce_source: 'urn:attacker',
      ce_type: type,
      'content-type': 'application/avro',
    });
    const before = await postJson(producer.url, {
      id: 'before-crafted',
      subject: 'k',
      type: PAYMENT,
      data: payment(20),
    });
    expect(before.status).toBe(202);
    const deadLettersBefore = await topicRecordCount(dlq);
    const kafka = testKafka().producer();
    await kafka.connect();
    await kafka.send({
      topic,
      messages: [
        { key: 'k', value: hugeCount, headers: headers('crafted-count', tagged) },
        { key: 'k', value: zeroSized, headers: headers('crafted-nulls', tagged) },
        // Valid bytes of the tagged schema under the payment type: its own schema or none, never the id's.
        { key: 'k', value: wire(taggedId, [2, 2, 0, 0]), headers: headers('crafted-foreign', PAYMENT) },
      ],
    });
    await kafka.disconnect();
    const after = await postJson(producer.url, { id: 'after-crafted', subject: 'k', type: PAYMENT, data: payment(21) });
    expect(after.status).toBe(202);

    await waitFor('the event after the crafted ones handled', () => handledById('after-crafted'), {
      timeoutMs: 60_000,
    });
    await waitFor('three more dead letters', async () => (await topicRecordCount(dlq)) >= deadLettersBefore + 3);
    const letters = await readTopic(dlq);
    const reasonOf = (id: string) => letters.find((record) => record.headers.ce_id === id)?.headers;
    expect(reasonOf('crafted-count')).toMatchObject({
      [DEAD_LETTER_HEADERS.errorName]: 'UndecodableDataError',
      [DEAD_LETTER_HEADERS.errorMessage]: expect.stringMatching(
        new RegExp(`^the value does not decode with schema ${taggedId}: the value asks for more array items`),
      ),
      [DEAD_LETTER_HEADERS.attempts]: '1',
    });
    expect(reasonOf('crafted-nulls')).toMatchObject({
      [DEAD_LETTER_HEADERS.errorName]: 'UndecodableDataError',
      [DEAD_LETTER_HEADERS.errorMessage]: expect.stringContaining('(a block of 20000000)'),
    });
    expect(reasonOf('crafted-foreign')).toMatchObject({
      [DEAD_LETTER_HEADERS.errorName]: 'UndecodableDataError',
      [DEAD_LETTER_HEADERS.errorMessage]: `the record's schema id ${taggedId} is not a schema of its type ${PAYMENT} (it belongs to ${tagged})`,
    });
    expect(handledById('crafted-count')).toBeUndefined();
    expect(handledById('crafted-foreign')).toBeUndefined();
    expect(handledById('crafted-nulls')).toBeUndefined();
    expect(handledById('before-crafted')!.event.data).toEqual({ ...payment(20), provider: null });
    expect(handledById('after-crafted')!.event.data).toEqual({ ...payment(21), provider: null });
  });

  it('a request of 1,000 new types makes no registry call (the subject list answers), and names the registry refuses get 202', async () => {
    const junkTopic = uniqueName('junk-types');
    // A refresh far off, so that every call counted is one the requests made.
    const quiet = await startProducer({
      EVENTS_TOPIC: junkTopic,
      SCHEMA_REGISTRY_URL: registry.url,
      SCHEMA_REGISTRY_REFRESH_MS: '600000',
    });
    try {
      expect((await fetch(`${quiet.url}/schemas`)).status).toBe(200);
      const callsBefore = registryCalls(await (await fetch(`${quiet.url}/metrics`)).text());
      const junk = Array.from({ length: 1000 }, (_, index) => ({ type: `com.example.junk.${index}`, data: {} }));
      expect((await postJson(quiet.url, junk)).status).toBe(202);
      // Names Apicurio refuses as artifact ids: they were a 500 when looked up one by one.
      for (const type of ['.', ' test ', '..', 'a/b', '%2e']) {
        const response = await postJson(quiet.url, { type, data: {} });
        expect({ type, status: response.status }).toEqual({ type, status: 202 });
      }
      // A known type is still checked against its schema.
      expect((await postJson(quiet.url, { type: PAYMENT, data: { paymentId: 1 } })).status).toBe(422);
      const callsAfter = registryCalls(await (await fetch(`${quiet.url}/metrics`)).text());
      expect(callsAfter - callsBefore).toBe(0);
    } finally {
      await quiet.stop();
    }
  });

  it('with the registry stopped: cached types get 202 and are processed, an unknown type gets 503; the consumer waits instead of dead-lettering', async () => {
    const deadLettersBefore = await topicRecordCount(dlq);
    const v1 = (await (await fetch(`${registry.url}/subjects/${PAYMENT}/versions/1`)).json()) as { id: number };
    await registry.stop();

    const cached = await postJson(producer.url, { id: 'while-down', type: PAYMENT, data: payment(8) });
    expect(cached.status).toBe(202);
    await waitFor('the event of a cached schema handled', () => handledById('while-down'));

    // A type missing from the last subject list the producer read is one without a schema; only
    // once a read of the list failed is an unknown type's schema unknown (503).
    await waitFor('the producer saw the registry gone', async () => {
      const exposition = await (await fetch(`${producer.url}/metrics`)).text();
      return metricValue(exposition, 'events_schema_registry_reachable') === 0;
    });
    const unknown = await postJson(producer.url, { id: 'new-type', type: 'com.example.never.pushed', data: {} });
    expect(unknown.status).toBe(503);
    expect(unknown.headers.get('retry-after')).toBe('2');
    expect(((await unknown.json()) as { type: string }).type).toBe(
      'urn:event-pipeline:problem:schema-registry-unavailable',
    );

    // Version 1, which the producer knows and the consumer has not decoded yet: it must wait.
    const older = await postJson(
      producer.url,
      {
        specversion: '1.0',
        id: 'needs-lookup',
        source: 'urn:test',
        type: PAYMENT,
        dataschema: `${registry.url}/schemas/ids/${v1.id}`,
        data: payment(9),
      },
      { 'content-type': 'application/cloudevents+json' },
    );
    expect(older.status).toBe(202);
    await waitFor('the consumer to find the registry unreachable', async () => {
      const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
      return (metricValue(metrics, 'events_schema_registry_lookups_total{outcome="error"}') ?? 0) >= 2;
    });
    expect(handledById('needs-lookup')).toBeUndefined();
    const producerMetrics = await (await fetch(`${producer.url}/metrics`)).text();
    expect(metricValue(producerMetrics, 'events_schema_registry_reachable')).toBe(0);

    await registry.start();
    await waitFor(
      'the waiting event handled once the registry is back',
      async () => {
        const waiting = handledById('needs-lookup');
        if (waiting) return waiting;
        // Not yet: what the consumer shows goes into the message should this time out.
        throw new Error(
          `not handled yet; consumer: ${consumerState(await (await fetch(`${consumer.url}/metrics`)).text())}`,
        );
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(handledById('needs-lookup')!.context.dataSchema?.version).toBe(1);
    expect(await topicRecordCount(dlq)).toBe(deadLettersBefore);

    // A type pushed now works without a restart.
    const late = mkdtempSync(path.join(tmpdir(), 'schemas-'));
    const folder = path.join(late, 'com.example.never.pushed');
    mkdirSync(folder);
    writeFileSync(
      path.join(folder, '1.avsc'),
      JSON.stringify({ type: 'record', name: 'com.example.never.pushed', fields: [{ name: 'at', type: 'long' }] }),
    );
    expect((await runSchemasCli('push', { dir: late, url: registry.url })).code).toBe(0);
    await waitFor('the new type accepted', async () => {
      const response = await postJson(producer.url, { type: 'com.example.never.pushed', data: { at: 1 } });
      return response.status === 202;
    });
  });
});

/** Calls the producer made to the registry, every operation together. */
function registryCalls(exposition: string): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith('events_schema_registry_request_duration_seconds_count'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** The record values as bytes, by event id (readTopic gives them as text). */
async function rawValues(topic: string): Promise<Map<string, Buffer>> {
  const expected = await topicRecordCount(topic);
  const consumer = testKafka().consumer({ groupId: uniqueName('raw-reader') });
  const values = new Map<string, Buffer>();
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen++;
        const id = message.headers?.ce_id?.toString();
        if (id && message.value) values.set(id, message.value);
      },
    });
    await waitFor(`${expected} records of ${topic}`, () => seen >= expected, { timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** The consumer's counters that tell a waiting event from a lost membership or a dead letter. */
function consumerState(exposition: string): string {
  const shown =
    /^(events_processed_total|events_dead_lettered_total|events_schema_registry_lookups_total|events_schema_registry_reachable|events_consumer_rebalances_total|events_consumer_assigned_partitions|events_consumer_in_flight)\b/;
  return exposition
    .split('\n')
    .filter((line) => shown.test(line))
    .join('; ');
}
