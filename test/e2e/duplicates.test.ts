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

  it('is in Kafka twice, processed once, and the duplicate is counted and committed', async () => {
    const order = { id: 'order-42', type: 'order.placed', subject: 'order-42', data: { total: 99.5 } };
    // A client retrying a request whose answer it did not see: separate requests, same event.
    for (const body of [order, order, { ...order, id: 'order-43', subject: 'order-43' }]) {
      const response = await postJson(producer.url, body);
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ ids: [body.id] });
    }

    await waitFor('order-43 handled', () => handled.includes('order-43'), { timeoutMs: 60_000 });
    const records = await readTopic(topic);
    expect(records.filter((record) => record.headers.ce_id === 'order-42')).toHaveLength(2);
    expect(records).toHaveLength(3);

    // Every record's offset is committed, the dropped duplicate's included.
    await waitFor('offsets committed to the end', async () => {
      const progress = await groupProgress(group, topic);
      return progress.reduce((sum, partition) => sum + partition.high, 0) === 3 &&
        progress.every((partition) => partition.committed === partition.high || partition.high === 0)
        ? progress
        : false;
    });
    expect(handled.sort()).toEqual(['order-42', 'order-43']);
    const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
    expect(metricValue(metrics, 'events_duplicates_total')).toBe(1);
    expect(metricValue(metrics, 'events_processed_total{outcome="success"}')).toBe(2);
  });
});
