import { waitFor } from '../support/wait';
import { leaseCluster, RELIABILITY_NODES, startRetryingPorts, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { awaitAllProcessed, scenarioNames, startScenarioPipeline } from './support/pipeline';

jest.setTimeout(300_000);

const PRODUCE_TIMEOUT_MS = 5000;
/** "Quickly": a refusal while Kafka is known to be down comes at once, not after a produce timeout. */
const QUICK_MS = 1000;

// Never a 2xx for an event Kafka did not acknowledge: with every broker gone the producer
// refuses at once with 503, and it comes back by itself when Kafka does.
describe('when Kafka is entirely down for a while', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('answers 503 quickly and never 2xx, then recovers without a restart', () =>
    runScenario('4. Kafka entirely down (all brokers killed), then back', async (ledger, note) => {
      const names = scenarioNames('kafka-down');
      const { producer, load, stop } = await startScenarioPipeline(lease.brokers, names, ledger, {
        producerEnv: {
          READINESS_INTERVAL_MS: '300',
          PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS),
          KAFKA_CONNECTION_TIMEOUT_MS: '500',
          KAFKA_REQUEST_TIMEOUT_MS: '2000',
        },
        load: { prefix: 'outage' },
      });
      const ready = async (): Promise<number> => (await fetch(`${producer.url}/health/ready`)).status;
      try {
        await load.acceptMore(500);
        await Promise.all(
          Array.from({ length: RELIABILITY_NODES }, (_, node) => lease.cluster.stopNode(node, 'SIGKILL')),
        );
        const downAt = performance.now();
        await waitFor('readiness to fail', async () => (await ready()) === 503, { timeoutMs: 20_000 });
        const notReadyAt = performance.now();
        // Kafka stays down a while under the same load.
        await new Promise((resolve) => setTimeout(resolve, 8000));
        const restartAt = performance.now();
        await startRetryingPorts(() => lease.cluster.start());
        await waitFor('readiness to come back', async () => (await ready()) === 200, { timeoutMs: 60_000 });
        const backAt = performance.now();
        await load.acceptMore(500);
        await load.stop();

        const sentWhileDown = load.answers.filter((answer) => answer.startedAt > downAt && answer.endedAt < restartAt);
        const sentWhileNotReady = sentWhileDown.filter((answer) => answer.startedAt > notReadyAt);
        const slowRefusal = sentWhileNotReady.reduce(
          (most, answer) => Math.max(most, answer.endedAt - answer.startedAt),
          0,
        );
        const inFlightAtKill = load.answers.filter((answer) => answer.startedAt <= downAt && answer.endedAt > downAt);
        note(
          `not ready ${Math.round(notReadyAt - downAt)} ms after the kill, ready ${Math.round(backAt - restartAt)} ms ` +
            `after the restart; ${sentWhileNotReady.length} requests while not ready, slowest ${Math.round(slowRefusal)} ms; ` +
            `statuses ${JSON.stringify(load.statuses())}`,
        );
        expect(sentWhileDown.filter((answer) => answer.status !== 503)).toEqual([]);
        expect(sentWhileNotReady.length).toBeGreaterThan(10);
        expect(slowRefusal).toBeLessThan(QUICK_MS);
        // What the kill caught waited at most its produce timeout.
        expect(inFlightAtKill.every((answer) => answer.endedAt - answer.startedAt < PRODUCE_TIMEOUT_MS + 2000)).toBe(
          true,
        );
        await awaitAllProcessed(ledger, names, lease.brokers);
      } finally {
        await stop();
      }
    }));
});
