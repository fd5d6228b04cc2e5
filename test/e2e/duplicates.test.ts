import type { CloudEvent } from '@event-pipeline/common';
import type { EventHandler } from '../../consumer/src/handler';
import { groupProgress, readTopic, uniqueName } from '../support/kafka';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

describe('when the same event is posted twice', () => {
  const topic = uniqueName('events');
  const group = uniqueName('processor');
  const handled: string[] = [];
  const handler: EventHandler = {
    handle(event: CloudEvent) {
      handled.push(event.id);
    },
  };
  let producer: Awaited<ReturnType<typeof startProducer>>;
  let consumer: Awaited<ReturnType<typeof startConsumer>>;

  beforeAll(async () => {
    producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '2' });
    consumer = await startConsumer(
      { EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: group, TOPIC_PARTITIONS: '2' },
      handler,
    );
  });

  afterAll(async () => {
    await producer?.stop();
    await consumer?.stop();
  });

  it('processes a retried request with the same Idempotency-Key once, counts the copies and commits them', async () => {
    const batch = [
      { type: 'order.placed', subject: 'order-42', data: { total: 99.5 } },
      { type: 'order.placed', subject: 'order-43', data: { total: 12 } },
    ];
    // A client retrying a request whose answer it did not see.
    const send = () => postJson(producer.url, batch, { 'idempotency-key': 'checkout-42' });
    const first = (await (await send()).json()) as { ids: string[] };
    const retry = (await (await send()).json()) as { ids: string[] };
    expect(retry.ids).toEqual(first.ids);
    // An event with its own id, posted twice in separate requests.
    const own = { id: 'order-44', type: 'order.placed', subject: 'order-44', data: { total: 5 } };
    for (const body of [own, own]) expect((await postJson(producer.url, body)).status).toBe(202);

    const ids = [...first.ids, 'order-44'];
    const records = await readTopic(topic);
    expect(records).toHaveLength(6);
    for (const id of ids) expect(records.filter((record) => record.headers.ce_id === id)).toHaveLength(2);

    // Every record's offset is committed, the dropped copies' included.
    await waitFor(
      'offsets committed to the end',
      async () => {
        const progress = await groupProgress(group, topic);
        return progress.every((partition) => partition.committed === partition.high || partition.high === 0);
      },
      { timeoutMs: 60_000 },
    );
    expect([...handled].sort()).toEqual([...ids].sort());
    const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
    expect(metricValue(metrics, 'events_duplicates_total')).toBe(3);
    expect(metricValue(metrics, 'events_processed_total{outcome="success"}')).toBe(3);
  });
});

describe('with API keys, when two callers send the same source and id', () => {
  const topic = uniqueName('events');
  const group = uniqueName('processor');
  const handled: CloudEvent[] = [];
  const handler: EventHandler = {
    handle(event: CloudEvent) {
      handled.push(structuredClone(event));
    },
  };
  const keys = { alice: 'alice-0123456789abcdef0123456789abcdef', mallory: 'mallory-0123456789abcdef0123456789ab' };
  let producer: Awaited<ReturnType<typeof startProducer>>;
  let consumer: Awaited<ReturnType<typeof startConsumer>>;

  beforeAll(async () => {
    producer = await startProducer({ EVENTS_TOPIC: topic, API_KEYS: `${keys.alice},${keys.mallory}` });
    consumer = await startConsumer({ EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: group }, handler);
  });

  afterAll(async () => {
    await producer?.stop();
    await consumer?.stop();
  });

  const post = (key: string, body: unknown) =>
    postJson(producer.url, body, { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' });

  it('processes both (the caller is on the record, and de-duplication keys by it), and still drops a caller’s own copy', async () => {
    // One subject, so one key and one partition: Mallory's event comes first to the consumer.
    const event = {
      specversion: '1.0',
      id: 'order-1',
      source: 'urn:shop',
      type: 'order.placed',
      subject: 'order-1',
      data: { n: 1 },
    };
    // Mallory sends first, hoping Alice's event is dropped as a copy of hers.
    expect((await post(keys.mallory, { ...event, data: { n: 0 } })).status).toBe(202);
    expect((await post(keys.alice, event)).status).toBe(202);
    expect((await post(keys.alice, event)).status).toBe(202);
    // A client cannot claim another caller's id.
    const forged = await post(keys.mallory, { ...event, id: 'order-2', authid: 'someone' });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { errors: Array<{ attribute: string }> }).errors).toEqual([
      expect.objectContaining({ attribute: 'authid' }),
    ]);

    await waitFor('both callers’ events handled and the copy dropped', async () => {
      const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
      return handled.length >= 2 && metricValue(metrics, 'events_duplicates_total') === 1;
    });
    expect(handled.map((one) => one.data)).toEqual([{ n: 0 }, { n: 1 }]);
    const callers = handled.map((one) => one.extensions?.authid);
    expect(new Set(callers).size).toBe(2);
    for (const one of handled) {
      expect(one.extensions).toEqual({ authtype: 'api_key', authid: expect.stringMatching(/^[0-9a-f]{16}$/) });
    }
    // The key itself is nowhere on the record.
    const records = await readTopic(topic);
    expect(records).toHaveLength(3);
    expect(JSON.stringify(records)).not.toContain(keys.alice);
  });
});
