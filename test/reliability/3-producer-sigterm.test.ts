import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { startLoad } from './support/load';
import { awaitAllProcessed, scenarioNames, spawnScenarioProducer, startScenarioConsumer } from './support/pipeline';

jest.setTimeout(300_000);

// A graceful drain: the requests in flight when SIGTERM lands get their answer once Kafka has
// acknowledged them, later ones are refused, and nothing that got a 202 is dropped.
describe('when the producer gets SIGTERM mid-load', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('drains: every event that got a 202 is processed, and it exits 0', () =>
    runScenario('3. producer SIGTERM mid-load, graceful drain', async (ledger, note) => {
      const names = scenarioNames('producer-sigterm');
      const producer = await spawnScenarioProducer(lease.brokers, names, { SHUTDOWN_TIMEOUT_MS: '15000' });
      const consumer = await startScenarioConsumer(lease.brokers, names, ledger);
      const load = startLoad({ url: producer.url, ledger, prefix: 'drain', clients: 8, ratePerSecond: 300 });
      try {
        await load.acceptMore(1500);
        const signalledAt = performance.now();
        producer.child.kill('SIGTERM');
        const code = await producer.exited;
        const drainMs = performance.now() - signalledAt;
        await load.stop();
        note(`exit ${code} ${Math.round(drainMs)} ms after SIGTERM; statuses ${JSON.stringify(load.statuses())}`);

        expect(code).toBe(0);
        expect(producer.output()).toContain('"pending":0,"msg":"producer flushed"');
        const before = load.answers.filter((answer) => answer.endedAt < signalledAt);
        expect(before.every((answer) => answer.status === 202)).toBe(true);
        // After the signal: answered (202 once acknowledged, or 503), or refused a connection; never left hanging.
        const after = load.answers.filter((answer) => answer.endedAt >= signalledAt);
        expect(
          after.every((answer) => answer.status === 202 || answer.status === 503 || answer.status === 'error'),
        ).toBe(true);
        await awaitAllProcessed(ledger, names, lease.brokers);
      } finally {
        await load.stop();
        producer.child.kill('SIGKILL');
        await consumer.stop();
      }
    }));
});
