import type { CloudEvent } from '@event-pipeline/common';
import { DEAD_LETTER_HEADERS } from '../../consumer/src/dead-letter-headers';
import { groupProgress, withAdmin } from '../support/kafka';
import { metricValue } from '../support/pipeline';
import { waitFor } from '../support/wait';
import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import {
  awaitAllProcessed,
  awaitDeadLetters,
  FAST_GROUP_ENV,
  scenarioNames,
  startScenarioPipeline,
} from './support/pipeline';

jest.setTimeout(300_000);

/** One event in 200 hangs (of each client's events; the load numbers them in steps of 5 between batches). */
const HANG_EVERY = 200;
const MAX_ATTEMPTS = 2;
/** Longer than the session timeout (6 s): the member must keep its membership while an attempt hangs. */
const HANDLER_TIMEOUT_MS = 7000;

// A handler that never resolves, and ignores the abort signal it is given: the worst a handler
// can do. The attempt timeout must end each attempt; the event is retried, then dead-lettered;
// the partition moves on; and the member stays in the group all along (no rebalance).
describe('when the handler hangs on some events', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('ends each attempt at its timeout, dead-letters the event, keeps the partition moving and the membership', () =>
    runScenario('12. handler hangs on some events: timed out, dead-lettered', async (ledger, note) => {
      expect(HANDLER_TIMEOUT_MS).toBeGreaterThan(Number(FAST_GROUP_ENV.SESSION_TIMEOUT_MS));
      const names = scenarioNames('hanging');
      const attempts = new Map<string, number>();
      const hangingIds = new Set<string>();
      const { consumer, load, stop } = await startScenarioPipeline(lease.brokers, names, ledger, {
        consumer: {
          env: {
            MAX_ATTEMPTS: String(MAX_ATTEMPTS),
            HANDLER_TIMEOUT_MS: String(HANDLER_TIMEOUT_MS),
            RETRY_INITIAL_DELAY_MS: '20',
            RETRY_MAX_DELAY_MS: '100',
          },
          handle(event: CloudEvent) {
            attempts.set(event.id, (attempts.get(event.id) ?? 0) + 1);
            if (event.type === 'reliability.hang') return new Promise<void>(() => undefined);
            return undefined;
          },
        },
        load: {
          prefix: 'hanging',
          event: (id, index) => {
            const hang = index % HANG_EVERY === 35;
            if (hang) hangingIds.add(id);
            return {
              id,
              type: hang ? 'reliability.hang' : 'reliability.load',
              subject: `k${index % 12}`,
              data: { index },
            };
          },
        },
      });
      // The group's members, sampled while events hang: one member, the same one, throughout.
      const memberIds = new Set<string>();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const [group] = (await withAdmin((admin) => admin.describeGroups([names.group]), lease.brokers)).groups;
          for (const member of group?.members ?? []) memberIds.add(member.memberId);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      })();
      try {
        await load.acceptMore(500);
        await load.stop();
        const deadLettered = await awaitDeadLetters(
          'the dead letters of the hanging events',
          hangingIds,
          ledger,
          names,
          lease.brokers,
          { timeoutMs: 180_000 },
        );
        for (const id of deadLettered.keys()) ledger.process(id);
        await awaitAllProcessed(ledger, names, lease.brokers);
        await waitFor('offsets committed to the end', async () =>
          (await groupProgress(names.group, names.topic, lease.brokers)).every(
            (partition) => partition.committed === partition.high,
          ),
        );
        sampling = false;
        await sampler;
        const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
        const joins = metricValue(metrics, 'events_consumer_rebalances_total');
        note(
          `${deadLettered.size} hanging events dead-lettered after ${MAX_ATTEMPTS} attempts of ${HANDLER_TIMEOUT_MS} ms; ` +
            `group joins ${joins}, members seen ${memberIds.size}; statuses ${JSON.stringify(load.statuses())}`,
        );

        expect(deadLettered.size).toBeGreaterThan(0);
        for (const [id, headers] of deadLettered) {
          expect(hangingIds.has(id)).toBe(true);
          expect(attempts.get(id)).toBe(MAX_ATTEMPTS);
          expect(headers[DEAD_LETTER_HEADERS.errorName]).toBe('HandlerTimeoutError');
          expect(headers[DEAD_LETTER_HEADERS.attempts]).toBe(String(MAX_ATTEMPTS));
        }
        // Good events were handled once each and never dead-lettered.
        for (const [id, count] of attempts) if (!hangingIds.has(id)) expect(count).toBe(1);
        // No rebalance: the member joined once and was the group's only member all along.
        expect(joins).toBe(1);
        expect(memberIds.size).toBe(1);
      } finally {
        sampling = false;
        await sampler;
        await stop();
      }
    }));
});
