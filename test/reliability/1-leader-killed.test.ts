import { leaseCluster, startRetryingPorts, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { slowest } from './support/load';
import { awaitAllProcessed, leaderNode, scenarioNames, startScenarioPipeline } from './support/pipeline';

jest.setTimeout(300_000);

// A 2xx means the event survives, even when the broker leading its partition dies mid-request.
describe("when a partition leader's broker is killed mid-load and brought back", () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('processes every event that got a 202', () =>
    runScenario('1. leader broker killed (SIGKILL) mid-load, then restarted', async (ledger, note) => {
      const names = scenarioNames('leader-killed');
      const { load, stop } = await startScenarioPipeline(lease.brokers, names, ledger, {
        producerEnv: { PRODUCE_TIMEOUT_MS: '15000' },
        load: { prefix: 'leader' },
      });
      try {
        await load.acceptMore(400);
        const leader = await leaderNode(names.topic, lease.brokers);
        await lease.cluster.stopNode(leader, 'SIGKILL');
        await load.acceptMore(600, 90_000);
        await startRetryingPorts(() => lease.cluster.startNode(leader));
        await load.acceptMore(300);
        await load.stop();
        note(
          `killed node ${leader}; statuses ${JSON.stringify(load.statuses())}; slowest ${Math.round(slowest(load.answers))} ms`,
        );

        await awaitAllProcessed(ledger, names, lease.brokers);
        expect(Object.keys(load.statuses()).every((status) => status === '202' || status === '503')).toBe(true);
      } finally {
        await stop();
      }
    }));
});
