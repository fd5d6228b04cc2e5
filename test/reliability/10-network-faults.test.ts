import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { slowest } from './support/load';
import { awaitAllProcessed, leaderNode, scenarioNames, startScenarioPipeline } from './support/pipeline';
import { startToxiproxy, type Toxic, type Toxiproxy } from './support/toxiproxy';

jest.setTimeout(600_000);

const PRODUCE_TIMEOUT_MS = 5000;
/** How much past PRODUCE_TIMEOUT_MS an answer may come: the request's own work, a loaded machine. */
const ANSWER_SLACK_MS = 3000;
/** How long each fault holds. */
const FAULT_MS = 10_000;

const hold = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Fault {
  name: string;
  /** On the link of partition 0's leader only, or on every broker's. */
  on: 'leader' | 'all';
  toxics: Toxic[];
}

const FAULTS: Fault[] = [
  // A slow network: every answer from the leader comes half a second late.
  { name: 'latency', on: 'leader', toxics: [{ type: 'latency', stream: 'downstream', attributes: { latency: 500 } }] },
  // A thin pipe: 32 KB/s each way on every broker's link.
  {
    name: 'bandwidth',
    on: 'all',
    toxics: [
      { type: 'bandwidth', stream: 'upstream', attributes: { rate: 32 } },
      { type: 'bandwidth', stream: 'downstream', attributes: { rate: 32 } },
    ],
  },
  // The link is cut: nothing gets through either way, and the connections stay open.
  {
    name: 'cut',
    on: 'leader',
    toxics: [
      { type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } },
      { type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } },
    ],
  },
  // Half-open: requests reach the broker (it may write them), its answers never come back.
  { name: 'half-open', on: 'leader', toxics: [{ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }] },
  // Connections reset by the peer as soon as they carry data.
  { name: 'reset', on: 'leader', toxics: [{ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } }] },
];

// Network faults, not dead processes: the services reach every broker through Toxiproxy (the
// brokers advertise the proxy's addresses), and faults are put on those links under load. No
// answer may be a lie (a 2xx only for what Kafka acknowledged), none may hang past the produce
// timeout, and once the link heals both services go on without a restart.
describe('when the network between the services and the brokers is slow, thin, cut or half-open', () => {
  let lease: ClusterLease;
  let proxy: Toxiproxy | undefined;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => {
    await proxy?.stop();
    await lease?.release();
  });

  it('answers every request within the produce timeout, never 2xx for what is not acknowledged, and recovers', () =>
    runScenario(
      '10. network faults through a proxy: latency, bandwidth, cut, half-open, reset',
      async (ledger, note) => {
        proxy = await startToxiproxy(lease.cluster.proxiedUpstreams, lease.cluster.proxiedBrokers);
        const brokers = lease.cluster.proxiedBrokers;
        const names = scenarioNames('network');
        const { load, stop } = await startScenarioPipeline(brokers, names, ledger, {
          producerEnv: { PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) },
          load: {
            prefix: 'network',
            // Past this a request counts as hung ('timeout'), which fails the scenario.
            timeoutMs: PRODUCE_TIMEOUT_MS + ANSWER_SLACK_MS,
          },
        });
        const seen: string[] = [];
        try {
          await load.acceptMore(300);
          for (const fault of FAULTS) {
            const leader = await leaderNode(names.topic, lease.brokers);
            const before = load.answers.length;
            for (const [index, toxic] of fault.toxics.entries()) {
              await proxy.add(`${fault.name}-${index}`, toxic, fault.on === 'leader' ? leader : undefined);
            }
            await hold(FAULT_MS);
            for (const index of fault.toxics.keys()) await proxy.remove(`${fault.name}-${index}`);
            const during = load.answers.slice(before);
            const statuses: Record<string, number> = {};
            for (const answer of during) statuses[String(answer.status)] = (statuses[String(answer.status)] ?? 0) + 1;
            seen.push(
              `${fault.name} on ${fault.on === 'leader' ? `node ${leader}` : 'all'}: ${JSON.stringify(statuses)}`,
            );
            // Healed: requests are accepted again, without a restart of anything.
            await load.acceptMore(200, 60_000);
          }
          await load.stop();
          note(
            `${seen.join('; ')}; in all ${JSON.stringify(load.statuses())}; slowest ${Math.round(slowest(load.answers))} ms`,
          );

          // The consumer, through the same proxy, processed every accepted event.
          await awaitAllProcessed(ledger, names, lease.brokers);
          expect(Object.keys(load.statuses()).filter((status) => status !== '202' && status !== '503')).toEqual([]);
          expect(slowest(load.answers)).toBeLessThan(PRODUCE_TIMEOUT_MS + ANSWER_SLACK_MS);
        } finally {
          await stop();
        }
      },
    ));
});
