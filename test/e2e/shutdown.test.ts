import type { CloudEvent } from '@event-pipeline/common';
import { readTopic, uniqueName } from '../support/kafka';
import { startConsumer } from '../support/pipeline';
import { spawnProducer } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const SHUTDOWN_TIMEOUT_MS = 15_000;

// A single process (the chart's default) and two workers (node:cluster): the primary passes the
// signal on as a drain to every worker.
describe.each(['1', '2'])('SIGTERM during a steady stream, PRODUCER_WORKERS=%s', (workers) => {
  it('drains the producer: every event that got a 202 is in Kafka and is processed', async () => {
    const topic = uniqueName('events');
    const producer = await spawnProducer(topic, {
      TOPIC_PARTITIONS: '3',
      PRODUCER_WORKERS: workers,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });

    const accepted: string[] = [];
    const refused: number[] = [];
    let terminated = false;
    const answeredAfterSignal: number[] = [];
    // Eight clients in closed loops until the server is gone.
    const client = async (worker: number): Promise<void> => {
      for (let index = 0; ; index += 1) {
        const id = `w${worker}-${index}`;
        let response: Response;
        try {
          response = await fetch(`${producer.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id, type: 'load', subject: `k${index % 16}`, data: { worker, index } }),
          });
        } catch {
          if (terminated) return; // connection refused or reset: the process is going away
          throw new Error(`request ${id} failed before SIGTERM`);
        }
        if (response.status === 202) accepted.push(id);
        else refused.push(response.status);
        if (terminated) answeredAfterSignal.push(response.status);
        await response.arrayBuffer();
      }
    };
    const clients = Array.from({ length: 8 }, (_, worker) => client(worker));

    await waitFor('a steady stream', () => accepted.length >= 300, { timeoutMs: 60_000 });
    terminated = true;
    const signalled = Date.now();
    producer.child.kill('SIGTERM');
    const code = await producer.exited;
    const shutDownMs = Date.now() - signalled;
    await Promise.all(clients);

    if (code !== 0) console.error(producer.output().slice(-5000));
    expect(code).toBe(0);
    expect(producer.output()).toContain('"msg":"shut down"');
    // Eight clients keep requests in flight: those the signal caught were answered, not dropped,
    // and Kafka had acknowledged everything when the producer let go.
    expect(answeredAfterSignal.length).toBeGreaterThan(0);
    // Every worker flushed its own producer, within the one bound.
    expect(producer.output().match(/"pending":0,"msg":"producer flushed"/g)).toHaveLength(Number(workers));
    expect(shutDownMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    // Whatever was not accepted was refused with 503, never silently dropped.
    expect(refused.every((status) => status === 503)).toBe(true);

    const onTopic = new Set((await readTopic(topic)).map((record) => record.headers.ce_id));
    expect(accepted.filter((id) => !onTopic.has(id))).toEqual([]);

    const processed = new Set<string>();
    const consumer = await startConsumer(
      { EVENTS_TOPIC: topic, DLQ_TOPIC: `${topic}.dlq`, CONSUMER_GROUP: uniqueName('processor') },
      { handle: (event: CloudEvent) => void processed.add(event.id) },
    );
    try {
      await waitFor('every accepted event processed', () => accepted.every((id) => processed.has(id)), {
        timeoutMs: 60_000,
      });
    } finally {
      await consumer.stop();
    }
  });
});
