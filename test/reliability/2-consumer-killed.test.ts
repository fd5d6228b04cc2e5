import { waitFor } from '../support/wait';
import type { ServiceProcess } from '../support/processes';
import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { startLoad } from './support/load';
import {
  awaitAllProcessed,
  processedFileHandler,
  scenarioNames,
  spawnScenarioConsumer,
  startScenarioProducer,
} from './support/pipeline';

jest.setTimeout(300_000);

// At-least-once across a rebalance: a member that dies mid-batch never committed what it did
// not finish, so the survivor picks those events up (some twice, which is reported).
describe('when one of two consumer instances is killed mid-batch', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('the survivor processes every event that got a 202', () =>
    runScenario('2. one of two consumers killed (SIGKILL) mid-batch, rebalance', async (ledger, note) => {
      const names = scenarioNames('consumer-killed');
      const producer = await startScenarioProducer(lease.brokers, names);
      const load = startLoad({ url: producer.url, ledger, prefix: 'rebalance' });
      const members: ServiceProcess[] = [];
      // Each event takes a few milliseconds, so a backlog keeps both members inside a batch.
      const handlers = [processedFileHandler({ delayMs: 4 }), processedFileHandler({ delayMs: 4 })];
      const processed = (): string[] => handlers.flatMap((handler) => handler.processedIds());
      try {
        await load.acceptMore(800);
        for (const handler of handlers) members.push(await spawnScenarioConsumer(lease.brokers, names, handler.env));
        const [victim, survivor] = [members[0]!, members[1]!];
        await waitFor('both members to be processing', () =>
          handlers.every((handler) => handler.processedIds().length >= 100),
        );
        victim.child.kill('SIGKILL');
        await victim.exited;
        const byVictim = handlers[0]!.processedIds().length;
        await load.acceptMore(600);
        await load.stop();

        await awaitAllProcessed(ledger, names, lease.brokers, { timeoutMs: 120_000, refresh: recount });
        note(`victim processed ${byVictim} before SIGKILL; statuses ${JSON.stringify(load.statuses())}`);
        expect(survivor.child.exitCode).toBeNull();
        expect(Object.keys(load.statuses())).toEqual(['202']);
      } finally {
        await load.stop();
        for (const member of members) member.child.kill('SIGKILL');
        await producer.stop();
        recount();
      }

      function recount(): void {
        // The ledger is rebuilt from the files each time: they are the only record of a killed process.
        ledger.resetProcessed();
        for (const id of processed()) ledger.process(id);
      }
    }));
});
