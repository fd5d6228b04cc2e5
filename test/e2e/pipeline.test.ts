import type { CloudEvent } from '@event-pipeline/common';
import type { EventHandler, HandlerContext } from '../../consumer/src/handler';
import { groupProgress, readTopic, uniqueName } from '../support/kafka';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

interface Seen {
  id: string;
  subject: string | undefined;
  seq: number;
  partition: number;
}

function recordingHandler(): EventHandler & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    handle(event: CloudEvent, context: HandlerContext) {
      seen.push({
        id: event.id,
        subject: event.subject,
        seq: (event.data as { seq: number }).seq,
        partition: context.partition,
      });
    },
  };
}

describe('POST /events to the consumer group, against a real broker', () => {
  const topic = uniqueName('events');
  const group = uniqueName('processor');
  const handler = recordingHandler();
  let producer: Awaited<ReturnType<typeof startProducer>>;
  let consumer: Awaited<ReturnType<typeof startConsumer>>;

  beforeAll(async () => {
    producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '6' });
    consumer = await startConsumer(
      { EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: group, TOPIC_PARTITIONS: '6' },
      handler,
    );
  });

  afterAll(async () => {
    await producer?.stop();
    await consumer?.stop();
  });

  it('processes each of 1,000 events sent as single requests and as batches, in order per key', async () => {
    const keys = Array.from({ length: 10 }, (_, index) => `device-${index}`);
    const nextSeq = new Map(keys.map((key) => [key, 0]));
    const take = (key: string): number => {
      const seq = nextSeq.get(key)!;
      nextSeq.set(key, seq + 1);
      return seq;
    };
    const accepted: string[] = [];

    // 500 single requests: the ten keys in parallel, each key's requests one after another.
    await Promise.all(
      keys.map(async (key) => {
        for (let index = 0; index < 50; index += 1) {
          const response = await postJson(producer.url, {
            type: 'device.reading',
            subject: key,
            data: { seq: take(key) },
          });
          expect(response.status).toBe(202);
          const body = (await response.json()) as { ids: string[] };
          expect(body.ids).toHaveLength(1);
          accepted.push(...body.ids);
        }
      }),
    );

    // 5 batches of 100, keys interleaved within each batch.
    for (let batch = 0; batch < 5; batch += 1) {
      const events = Array.from({ length: 100 }, (_, index) => {
        const key = keys[index % keys.length]!;
        return { type: 'device.reading', subject: key, data: { seq: take(key) } };
      });
      const response = await postJson(producer.url, events);
      expect(response.status).toBe(202);
      const body = (await response.json()) as { ids: string[] };
      expect(body.ids).toHaveLength(100);
      accepted.push(...body.ids);
    }

    expect(new Set(accepted).size).toBe(1000);
    await waitFor('all 1,000 events processed', () => new Set(handler.seen.map((seen) => seen.id)).size >= 1000, {
      timeoutMs: 60_000,
    });
    const processed = new Set(handler.seen.map((seen) => seen.id));
    expect(accepted.filter((id) => !processed.has(id))).toEqual([]);

    for (const key of keys) {
      const sequence = handler.seen.filter((seen) => seen.subject === key).map((seen) => seen.seq);
      expect(sequence).toEqual(Array.from({ length: 100 }, (_, index) => index));
      // One key, one partition: the key is the partition key.
      expect(new Set(handler.seen.filter((seen) => seen.subject === key).map((seen) => seen.partition)).size).toBe(1);
    }

    // The records on the topic are CloudEvents in binary mode, keyed by subject.
    const records = await readTopic(topic);
    expect(records).toHaveLength(1000);
    const first = records[0]!;
    expect(first.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'device.reading',
      'content-type': 'application/json',
    });
    expect(first.key).toBe(first.headers.ce_subject);

    // Every offset is committed: nothing skipped, nothing left behind.
    await waitFor('offsets committed up to the end of every partition', async () =>
      (await groupProgress(group, topic)).every(
        (partition) => partition.high === 0 || partition.committed === partition.high,
      ),
    );

    const producerMetrics = await (await fetch(`${producer.url}/metrics`)).text();
    expect(metricValue(producerMetrics, 'events_ingested_total{outcome="accepted"}')).toBe(1000);
    const consumerMetrics = await (await fetch(`${consumer.url}/metrics`)).text();
    expect(metricValue(consumerMetrics, 'events_processed_total{outcome="success"}')).toBe(1000);
    expect(metricValue(consumerMetrics, 'events_end_to_end_latency_seconds_count')).toBe(1000);
  });
});

describe('records without a key, against a real broker', () => {
  const topic = uniqueName('events');
  let producer: Awaited<ReturnType<typeof startProducer>>;

  beforeAll(async () => {
    producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '6' });
  });

  afterAll(async () => {
    await producer?.stop();
  });

  it('writes events without a subject unkeyed, one partition per produce request, and spreads requests over the partitions', async () => {
    // One request at a time, so each is a produce request of its own.
    for (let batch = 0; batch < 6; batch += 1) {
      const events = Array.from({ length: 50 }, (_, index) => ({
        type: 'page.viewed',
        id: `b${batch}-${index}`,
        data: { index },
      }));
      const response = await postJson(producer.url, events);
      expect(response.status).toBe(202);
    }
    // A batch that mixes both: the keyed events keep their subject as key (and so their order).
    const mixed = Array.from({ length: 20 }, (_, index) => ({
      type: 'device.reading',
      id: `m-${index}`,
      ...(index % 2 === 0 ? { subject: `device-${index % 4}` } : {}),
      data: { index },
    }));
    expect((await postJson(producer.url, mixed)).status).toBe(202);

    const records = await readTopic(topic);
    expect(records).toHaveLength(320);
    const partitionsOf = (prefix: string) =>
      new Set(records.filter((record) => record.headers.ce_id!.startsWith(prefix)).map((record) => record.partition));
    for (let batch = 0; batch < 6; batch += 1) expect(partitionsOf(`b${batch}-`).size).toBe(1);
    // Round robin from one produce request to the next: six requests do not all share one partition.
    const used = new Set(Array.from({ length: 6 }, (_, batch) => [...partitionsOf(`b${batch}-`)][0]));
    expect(used.size).toBeGreaterThan(1);
    for (const record of records) {
      expect(record.key).toBe(record.headers.ce_subject ?? null);
    }
    const unkeyedOfMixed = records.filter((record) => record.headers.ce_id!.startsWith('m-') && record.key === null);
    expect(unkeyedOfMixed).toHaveLength(10);
    expect(new Set(unkeyedOfMixed.map((record) => record.partition)).size).toBe(1);
  });
});
