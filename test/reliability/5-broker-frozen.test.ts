import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { slowest } from './support/load';
import { awaitAllProcessed, leaderNode, scenarioNames, startScenarioPipeline } from './support/pipeline';

jest.setTimeout(300_000);

const PRODUCE_TIMEOUT_MS = 5000;
/** A request's bound: its produce timeout, plus time to answer. */
const REQUEST_BOUND_MS = PRODUCE_TIMEOUT_MS + 2000;

// A frozen broker (SIGSTOP) keeps its connections open and answers nothing: the worst case for
// timeouts. No request may hang past its bound, and nothing accepted may be lost.
describe('when a broker is frozen rather than killed', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('answers every request within its bound and processes every event that got a 202', () =>
    runScenario('5. leader broker frozen (SIGSTOP) mid-load, then resumed', async (ledger, note) => {
      const names = scenarioNames('broker-frozen');
      const { load, stop } = await startScenarioPipeline(lease.brokers, names, ledger, {
        producerEnv: { PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS), KAFKA_REQUEST_TIMEOUT_MS: '5000' },
        load: { prefix: 'frozen', timeoutMs: 60_000 },
      });
      try {
        await load.acceptMore(400);
        const leader = await leaderNode(names.topic, lease.brokers);
        lease.cluster.pauseNode(leader);
        const frozenAt = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 12_000));
        const acceptedWhileFrozen = ledger.accepted;
        lease.cluster.resumeNode(leader);
        await load.acceptMore(400, 90_000);
        await load.stop();
        const whileFrozen = load.answers.filter((answer) => answer.endedAt > frozenAt);
        note(
          `froze node ${leader} for 12 s; slowest request ${Math.round(slowest(load.answers))} ms ` +
            `(bound ${REQUEST_BOUND_MS}); statuses ${JSON.stringify(load.statuses())}`,
        );

        expect(slowest(load.answers)).toBeLessThan(REQUEST_BOUND_MS);
        expect(Object.keys(load.statuses()).every((status) => status === '202' || status === '503')).toBe(true);
        expect(whileFrozen.length).toBeGreaterThan(0);
        expect(acceptedWhileFrozen).toBeGreaterThan(0);
        await awaitAllProcessed(ledger, names, lease.brokers);
      } finally {
        await stop();
      }
    }));
});
