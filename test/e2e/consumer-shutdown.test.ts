import type { CloudEvent } from '@event-pipeline/common';
import { handlerModule, loggedEvents } from '../support/handlers';
import { groupProgress, uniqueName } from '../support/kafka';
import { metricValue, postJson, startConsumer, startProducer } from '../support/pipeline';
import { spawnConsumer } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

describe('SIGTERM to a consumer in the middle of a backlog', () => {
  it('commits what it processed and leaves the group, so the next member resumes without a gap', async () => {
    const topic = uniqueName('events');
    const group = uniqueName('processor');
    const producer = await startProducer({ EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '3' });
    const ids: string[] = [];
    try {
      for (let batch = 0; batch < 40; batch += 1) {
        const response = await postJson(
          producer.url,
          Array.from({ length: 100 }, (_, index) => ({
            type: 'backlog',
            subject: `k${index % 9}`,
            data: { batch, index },
          })),
        );
        expect(response.status).toBe(202);
        ids.push(...((await response.json()) as { ids: string[] }).ids);
      }
    } finally {
      await producer.stop();
    }

    // A handler that takes a few milliseconds per event, so the signal lands mid-backlog.
    const first = await spawnConsumer({ topic, group }, { HANDLER_MODULE: handlerModule('logging'), DELAY_MS: '3' });
    await waitFor('the first consumer to be partway through', async () => {
      const metrics = await (await fetch(`${first.url}/metrics`)).text();
      return (metricValue(metrics, 'events_processed_total{outcome="success"}') ?? 0) >= 300;
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const processedByFirst = new Set(loggedEvents(first.output()).map(({ id }) => id));
    expect(first.output()).toContain('"msg":"shut down"');
    expect(processedByFirst.size).toBeLessThan(ids.length);

    // What it committed it had processed: the committed offsets count no more than it handled.
    const committed = (await groupProgress(group, topic)).reduce((sum, p) => sum + Math.max(0, p.committed), 0);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThanOrEqual(processedByFirst.size);

    const processedBySecond = new Set<string>();
    const second = await startConsumer(
      { EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: group },
      { handle: (event: CloudEvent) => void processedBySecond.add(event.id) },
    );
    try {
      await waitFor('every event processed by one member or the other', () =>
        ids.every((id) => processedByFirst.has(id) || processedBySecond.has(id)),
      );
      // The second member started where the first one committed: it did not redo the backlog.
      const redone = [...processedBySecond].filter((id) => processedByFirst.has(id)).length;
      console.info(
        `consumer drain: first member processed ${processedByFirst.size} of ${ids.length}, committed ${committed}, ` +
          `second member redid ${redone}`,
      );
      expect(redone).toBeLessThanOrEqual(processedByFirst.size - committed);
    } finally {
      await second.stop();
    }
  });
});
