import type { CloudEvent } from '@event-pipeline/common';
import type { HandlerContext } from '../../consumer/src/handler';
import { handlerModule, loggedEvents } from '../support/handlers';
import { groupProgress, uniqueName } from '../support/kafka';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { spawnConsumer } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(240_000);

/** Posts `count` events in requests of 100, in order, and returns their ids in that order. */
async function produce(
  url: string,
  count: number,
  event: (index: number) => Record<string, unknown>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 100) {
    const batch = Array.from({ length: Math.min(100, count - start) }, (_, offset) => event(start + offset));
    const response = await postJson(url, batch);
    expect(response.status).toBe(202);
    ids.push(...((await response.json()) as { ids: string[] }).ids);
  }
  return ids;
}

describe('a partition handled in batches, keys in parallel, in order per key', () => {
  it('when one partition holds events of several keys, then each key is handled in order while other keys overlap', async () => {
    const topic = uniqueName('events');
    const group = uniqueName('processor');
    const keys = 8;
    const perKey = 40;
    const producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '1' });
    try {
      await produce(producer.url, keys * perKey, (index) => ({
        type: 'ordered',
        subject: `k${index % keys}`,
        data: { seq: Math.floor(index / keys) },
      }));
    } finally {
      await producer.stop();
    }

    const seen = new Map<string, number[]>();
    const runningPerKey = new Map<string, number>();
    let running = 0;
    let mostRunning = 0;
    let mostRunningOfOneKey = 0;
    let handled = 0;
    const consumer = await startConsumer(
      {
        EVENTS_TOPIC: topic,
        DLQ_TOPIC: `${topic}.dlq`,
        CONSUMER_GROUP: group,
        TOPIC_PARTITIONS: '1',
        HANDLER_CONCURRENCY: '4',
      },
      {
        async handle(event: CloudEvent, context: HandlerContext) {
          const key = context.key!;
          running++;
          runningPerKey.set(key, (runningPerKey.get(key) ?? 0) + 1);
          mostRunning = Math.max(mostRunning, running);
          mostRunningOfOneKey = Math.max(mostRunningOfOneKey, runningPerKey.get(key)!);
          // Slow enough that events of other keys must overlap if the consumer lets them.
          await new Promise((resolve) => setTimeout(resolve, 5));
          seen.set(key, [...(seen.get(key) ?? []), (event.data as { seq: number }).seq]);
          runningPerKey.set(key, runningPerKey.get(key)! - 1);
          running--;
          handled++;
        },
      },
    );
    try {
      await waitFor('every event handled', () => handled >= keys * perKey, { timeoutMs: 120_000 });
      const inOrder = Array.from({ length: perKey }, (_, seq) => seq);
      for (let key = 0; key < keys; key++) expect([`k${key}`, seen.get(`k${key}`)]).toEqual([`k${key}`, inOrder]);
      expect(mostRunningOfOneKey).toBe(1);
      expect(mostRunning).toBeGreaterThan(1);
      expect(mostRunning).toBeLessThanOrEqual(4);
      // Everything finished, so everything is committed.
      await waitFor('the whole partition committed', async () => {
        const [progress] = await groupProgress(group, topic);
        return progress!.committed === progress!.high;
      });
    } finally {
      await consumer.stop();
    }
  });

  it('when a consumer is killed in the middle of a batch and another starts, then every event is processed at least once and none is skipped', async () => {
    const topic = uniqueName('events');
    const group = uniqueName('processor');
    const producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '3' });
    let ids: string[];
    try {
      // Half with a subject (ordered per key), half without (no key, any order).
      ids = await produce(producer.url, 3000, (index) => ({
        type: 'backlog',
        ...(index % 2 === 0 ? { subject: `k${index % 11}` } : {}),
        data: { index },
      }));
    } finally {
      await producer.stop();
    }

    // Slow and uneven, so that the kill lands with events of a batch finished out of order.
    const first = await spawnConsumer(
      { topic, group },
      {
        HANDLER_MODULE: handlerModule('logging'),
        DELAY_MS: '5',
        DELAY_STEP_MS: '3',
        HANDLER_CONCURRENCY: '4',
        HEARTBEAT_INTERVAL_MS: '500',
        SESSION_TIMEOUT_MS: '10000',
      },
    );
    // Killed once it committed in the middle of a batch (a batch here is most of a partition).
    await waitFor(
      'the first consumer to commit partway through',
      async () => {
        const metrics = await (await fetch(`${first.url}/metrics`)).text();
        const processed = metricValue(metrics, 'events_processed_total{outcome="success"}') ?? 0;
        const committed = (await groupProgress(group, topic)).some(({ committed }) => committed > 0);
        return committed && processed >= 300 && processed < ids.length / 2;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const finished = loggedEvents(first.output());
    const processedByFirst = new Set(finished.map(({ id }) => id));
    const offsetsByFirst = new Set(finished.map(({ partition, offset }) => `${partition}:${offset}`));
    expect(processedByFirst.size).toBeLessThan(ids.length);

    // The commit rule: below each committed offset, every event was finished by the first member.
    const progress = await groupProgress(group, topic);
    expect(progress.some(({ committed }) => committed > 0)).toBe(true);
    // The kill landed in the middle of a batch: the first member had finished events at or past
    // its partition's committed offset, which the commit rule must leave for the second.
    const committedOf = new Map(progress.map(({ partition, committed }) => [partition, committed]));
    const finishedUncommitted = finished.filter(({ partition, offset }) => offset >= (committedOf.get(partition) ?? 0));
    expect(finishedUncommitted.length).toBeGreaterThan(0);
    for (const { partition, committed } of progress) {
      const skipped = Array.from({ length: Math.max(0, committed) }, (_, offset) => `${partition}:${offset}`).filter(
        (position) => !offsetsByFirst.has(position),
      );
      expect([partition, skipped]).toEqual([partition, []]);
    }

    const processedBySecond = new Set<string>();
    const second = await startConsumer(
      { EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: group, HANDLER_CONCURRENCY: '8' },
      { handle: (event: CloudEvent) => void processedBySecond.add(event.id) },
    );
    try {
      await waitFor(
        'every event processed by one member or the other',
        () => ids.every((id) => processedByFirst.has(id) || processedBySecond.has(id)),
        { timeoutMs: 120_000 },
      );
      const redone = [...processedBySecond].filter((id) => processedByFirst.has(id)).length;
      console.info(
        `killed mid-batch: first member processed ${processedByFirst.size} of ${ids.length}, second redid ${redone}`,
      );
    } finally {
      await second.stop();
    }
  });
});
