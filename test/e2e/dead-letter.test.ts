import type { CloudEvent } from '@event-pipeline/common';
import { DEAD_LETTER_HEADERS } from '../../consumer/src/dead-letter-headers';
import { NonRetriableError, type EventHandler, type HandlerContext } from '../../consumer/src/handler';
import { groupProgress, readTopic, topicRecordCount, uniqueName } from '../support/kafka';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

describe('when the handler fails', () => {
  const topic = uniqueName('events');
  const dlq = `${topic}.dlq`;
  const group = uniqueName('processor');
  const attemptsById = new Map<string, number[]>();
  const succeeded: string[] = [];
  const handler: EventHandler = {
    handle(event: CloudEvent, context: HandlerContext) {
      attemptsById.set(event.id, [...(attemptsById.get(event.id) ?? []), context.attempt]);
      if (event.type === 'always.fails') throw new Error('downstream keeps timing out');
      if (event.type === 'bad.data') throw new NonRetriableError('amount must be positive');
      if (event.type === 'flaky' && context.attempt < 3) throw new Error('transient');
      succeeded.push(event.id);
    },
  };
  let producer: Awaited<ReturnType<typeof startProducer>>;
  let consumer: Awaited<ReturnType<typeof startConsumer>>;

  beforeAll(async () => {
    // One partition, so "the events behind it" are really behind it.
    producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '1' });
    consumer = await startConsumer(
      {
        EVENTS_TOPIC: topic,
        DLQ_TOPIC: dlq,
        CONSUMER_GROUP: group,
        TOPIC_PARTITIONS: '1',
        MAX_ATTEMPTS: '4',
        RETRY_INITIAL_DELAY_MS: '20',
        RETRY_MAX_DELAY_MS: '100',
      },
      handler,
    );
  });

  afterAll(async () => {
    await producer?.stop();
    await consumer?.stop();
  });

  it('retries it, dead-letters it with the reason, and processes the events behind it', async () => {
    const events = [
      { id: 'ok-1', type: 'ok', data: { n: 1 } },
      { id: 'poison', type: 'always.fails', subject: 'order-7', data: { n: 2 } },
      { id: 'ok-2', type: 'ok', data: { n: 3 } },
      { id: 'invalid', type: 'bad.data', data: { amount: -5 } },
      { id: 'flaky', type: 'flaky', data: { n: 4 } },
      ...Array.from({ length: 20 }, (_, index) => ({ id: `after-${index}`, type: 'ok', data: { n: 5 + index } })),
    ];
    const response = await postJson(producer.url, events);
    expect(response.status).toBe(202);

    await waitFor('every good event processed', () => succeeded.length >= 23, { timeoutMs: 60_000 });
    // Events of other keys (these have none) run beside the poison event's retries, not after them.
    await waitFor('two dead letters', async () => (await topicRecordCount(dlq)) >= 2);
    expect(attemptsById.get('poison')).toEqual([1, 2, 3, 4]);
    expect(attemptsById.get('invalid')).toEqual([1]);
    expect(attemptsById.get('flaky')).toEqual([1, 2, 3]);
    expect([...succeeded].sort()).toEqual(
      ['ok-1', 'ok-2', 'flaky', ...Array.from({ length: 20 }, (_, index) => `after-${index}`)].sort(),
    );

    const [original] = (await readTopic(topic)).filter((record) => record.headers.ce_id === 'poison');
    const deadLetters = await readTopic(dlq);
    expect(deadLetters).toHaveLength(2);
    const poison = deadLetters.find((record) => record.headers.ce_id === 'poison')!;
    // Value, key and original headers intact, plus why.
    expect(poison.value).toBe(original!.value);
    expect(poison.key).toBe('order-7');
    expect(poison.headers).toMatchObject({
      ...original!.headers,
      [DEAD_LETTER_HEADERS.errorMessage]: 'downstream keeps timing out',
      [DEAD_LETTER_HEADERS.errorName]: 'Error',
      [DEAD_LETTER_HEADERS.attempts]: '4',
      [DEAD_LETTER_HEADERS.originalTopic]: topic,
      [DEAD_LETTER_HEADERS.originalPartition]: '0',
      [DEAD_LETTER_HEADERS.originalOffset]: String(original!.offset),
      [DEAD_LETTER_HEADERS.consumerGroup]: group,
    });
    expect(Date.parse(poison.headers[DEAD_LETTER_HEADERS.failedAt]!)).not.toBeNaN();
    const invalid = deadLetters.find((record) => record.headers.ce_id === 'invalid')!;
    expect(invalid.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.errorName]: 'NonRetriableError',
      [DEAD_LETTER_HEADERS.attempts]: '1',
    });

    // Nothing was skipped: the group's committed offset is the end of the partition.
    await waitFor('offsets committed to the end', async () =>
      (await groupProgress(group, topic)).every(
        (partition) => partition.committed === partition.high && partition.high === 25,
      ),
    );
    const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
    expect(metricValue(metrics, 'events_processed_total{outcome="success"}')).toBe(23);
    expect(metricValue(metrics, 'events_processed_total{outcome="dead_lettered"}')).toBe(2);
    // 3 retries of the poison event, 2 of the flaky one.
    expect(metricValue(metrics, 'events_processed_total{outcome="retried"}')).toBe(5);
  });
});
