import type { CloudEvent } from '@event-pipeline/common';
import { DEAD_LETTER_HEADERS } from '../../consumer/src/dead-letter-headers';
import { groupProgress } from '../support/kafka';
import { waitFor } from '../support/wait';
import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { awaitAllProcessed, awaitDeadLetters, scenarioNames, startScenarioPipeline } from './support/pipeline';

jest.setTimeout(300_000);

const POISON_EVERY = 40;
const MAX_ATTEMPTS = 3;

// A poison event is retried a bounded number of times, dead-lettered with the reason, and never
// holds up the good events behind it. "Processed" for a poison event means: in the dead-letter topic.
describe('when poison events come among good ones', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('dead-letters each poison event and processes the rest', () =>
    runScenario('6. poison events among good ones, dead-lettered', async (ledger, note) => {
      const names = scenarioNames('poison');
      const attempts = new Map<string, number>();
      const poisonIds = new Set<string>();
      const { load, stop } = await startScenarioPipeline(lease.brokers, names, ledger, {
        consumer: {
          env: { MAX_ATTEMPTS: String(MAX_ATTEMPTS), RETRY_INITIAL_DELAY_MS: '20', RETRY_MAX_DELAY_MS: '100' },
          handle(event: CloudEvent) {
            attempts.set(event.id, (attempts.get(event.id) ?? 0) + 1);
            if (event.type === 'reliability.poison') throw new Error('poison: the handler cannot take this event');
          },
        },
        load: {
          prefix: 'poison',
          event: (id, index) => {
            const poison = index % POISON_EVERY === 7;
            if (poison) poisonIds.add(id);
            return {
              id,
              type: poison ? 'reliability.poison' : 'reliability.load',
              subject: `k${index % 12}`,
              data: { index },
            };
          },
        },
      });
      try {
        await load.acceptMore(1500);
        await load.stop();
        // Poison events are only "processed" once their dead letter is in Kafka: the ledger learns of them there.
        const deadLettered = await awaitDeadLetters('the dead letters', poisonIds, ledger, names, lease.brokers);
        for (const id of deadLettered.keys()) ledger.process(id);
        await awaitAllProcessed(ledger, names, lease.brokers);
        note(
          `${deadLettered.size} dead-lettered of ${poisonIds.size} poison events sent; statuses ${JSON.stringify(load.statuses())}`,
        );

        // Poison: every attempt made, then dead-lettered with why; good events: once each, never dead-lettered.
        for (const [id, headers] of deadLettered) {
          expect(poisonIds.has(id)).toBe(true);
          expect(attempts.get(id)).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
          expect(headers[DEAD_LETTER_HEADERS.attempts]).toBe(String(MAX_ATTEMPTS));
          expect(headers[DEAD_LETTER_HEADERS.errorMessage]).toBe('poison: the handler cannot take this event');
        }
        expect(deadLettered.size).toBeGreaterThan(0);
        // Nothing skipped, nothing stuck: the group committed to the end of every partition.
        await waitFor('offsets committed to the end', async () =>
          (await groupProgress(names.group, names.topic, lease.brokers)).every(
            (partition) => partition.committed === partition.high,
          ),
        );
      } finally {
        await stop();
      }
    }));
});
