import { withAdmin } from '../support/kafka';
import { waitFor } from '../support/wait';
import { leaseCluster, RELIABILITY_NODES, startRetryingPorts, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { slowest } from './support/load';
import { awaitAllProcessed, scenarioNames, startScenarioPipeline } from './support/pipeline';

jest.setTimeout(600_000);

/** Every partition of `topic` has all its replicas in sync again: the restarted broker caught up. */
async function fullyReplicated(topic: string, brokers: string[]): Promise<boolean> {
  return withAdmin(async (admin) => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return (topics[0]?.partitions ?? []).every(
      (partition) => partition.leader >= 1 && partition.isr.length === partition.replicas.length,
    );
  }, brokers);
}

// An upgrade as operators run it: each broker of the cluster is stopped cleanly (SIGTERM, so it
// hands its leaderships over) and started again, one after another, while the load runs. The
// producer should ride the leadership moves: nothing accepted is lost, and few requests get 503.
describe('when the cluster is restarted broker by broker under load', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('loses no accepted event and refuses few requests', () =>
    runScenario('11. rolling restart of every broker (SIGTERM, one by one)', async (ledger, note) => {
      const names = scenarioNames('rolling');
      const { load, stop } = await startScenarioPipeline(lease.brokers, names, ledger, { load: { prefix: 'rolling' } });
      try {
        await load.acceptMore(300);
        for (let node = 0; node < RELIABILITY_NODES; node += 1) {
          await lease.cluster.stopNode(node, 'SIGTERM');
          // Load goes on against the two others while this one is down.
          await load.acceptMore(200, 90_000);
          await startRetryingPorts(() => lease.cluster.startNode(node));
          // As an upgrade would: the next broker goes only once this one is back in sync.
          await waitFor(`node ${node} back in sync`, () => fullyReplicated(names.topic, lease.brokers), {
            timeoutMs: 120_000,
            intervalMs: 500,
          });
          await load.acceptMore(100, 90_000);
        }
        await load.stop();
        const statuses = load.statuses();
        const requests = Object.values(statuses).reduce((sum, count) => sum + count, 0);
        const refused = statuses['503'] ?? 0;
        note(
          `statuses ${JSON.stringify(statuses)} (${((100 * refused) / requests).toFixed(2)} % 503); ` +
            `slowest ${Math.round(slowest(load.answers))} ms`,
        );

        await awaitAllProcessed(ledger, names, lease.brokers);
        // Every answer is a 202 or an honest 503, none hung, and the 503s are few: under 2 %.
        expect(Object.keys(statuses).filter((status) => status !== '202' && status !== '503')).toEqual([]);
        expect(refused / requests).toBeLessThan(0.02);
      } finally {
        await stop();
      }
    }));
});
