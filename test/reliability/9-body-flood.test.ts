import { metricValue } from '../support/pipeline';
import type { ServiceProcess } from '../support/processes';
import { leaseCluster, type ClusterLease } from './support/cluster';
import { floodWithHeldBodies, processTree, rssBytes, type FloodEnding } from './support/flood';
import { runScenario } from './support/ledger';
import { slowest, startLoad } from './support/load';
import { awaitAllProcessed, scenarioNames, spawnScenarioProducer, startScenarioConsumer } from './support/pipeline';

jest.setTimeout(300_000);

const MIB = 1024 * 1024;
/** The producer's defaults (producer/src/config.ts), said here so that the bounds below follow them. */
const BODY_LIMIT_BYTES = MIB;
const MAX_RECEIVING_BYTES = 32 * MIB;
const PRODUCE_TIMEOUT_MS = 10_000;
const FLOOD_CONNECTIONS = 2000;
/** Just under the limit, as a client that wants to hold the most memory would send. */
const FLOOD_BODY_BYTES = BODY_LIMIT_BYTES - 1024;
/**
 * What Node may have read of a refused connection's body before its 503 goes out and the
 * connection closes: one socket read (64 KiB). Those reads are garbage at once, but at the
 * flood's peak many of them are in memory together.
 */
const READ_PER_REFUSED_CONNECTION = 64 * 1024;

// Many clients at once, each holding a large body it never finishes, while well-behaved clients
// keep sending. The receive budget must keep the producer's memory bounded, the producer ready,
// the steady load served within its usual bound, and every accepted event processed.
describe('when 2,000 connections hold large bodies while the steady load runs', () => {
  let lease: ClusterLease;
  let producer: ServiceProcess | undefined;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => {
    producer?.child.kill('SIGTERM');
    await producer?.exited;
    await lease?.release();
  });

  it('keeps the producer within its receive budget, ready and serving, and loses nothing', () =>
    runScenario('9. body flood: 2,000 connections holding large bodies', async (ledger, note) => {
      const names = scenarioNames('flood');
      producer = await spawnScenarioProducer(lease.brokers, names, {
        BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
        MAX_RECEIVING_BYTES: String(MAX_RECEIVING_BYTES),
        // The receive budget is what this scenario tries: every flood connection gets in, as
        // with the connection bound (MAX_CONNECTIONS, 1,000 by default) raised past the flood.
        MAX_CONNECTIONS: String(FLOOD_CONNECTIONS + 100),
        PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS),
      });
      const pid = producer.child.pid!;
      const consumer = await startScenarioConsumer(lease.brokers, names, ledger);
      // A steady request waits at most the produce timeout for Kafka; past that and some slack for
      // this machine (which also runs the 2,000 clients) it counts as hung ('timeout'), a failure.
      const load = startLoad({ url: producer.url, ledger, prefix: 'flood', timeoutMs: PRODUCE_TIMEOUT_MS + 5000 });
      try {
        await load.acceptMore(300);
        const baseline = rssBytes(pid);
        const before = load.answers.length;

        let peak = baseline;
        let flooding = true;
        const notReady: number[] = [];
        const watch = (async () => {
          while (flooding) {
            peak = Math.max(peak, rssBytes(pid));
            const ready = await fetch(`${producer!.url}/health/ready`);
            await ready.arrayBuffer();
            if (ready.status !== 200) notReady.push(ready.status);
          }
        })();
        const endings = await floodWithHeldBodies(producer.port, FLOOD_CONNECTIONS, FLOOD_BODY_BYTES);
        flooding = false;
        await watch;
        await load.acceptMore(200);
        await load.stop();

        const during = load.answers.slice(before);
        const byEnding = new Map<FloodEnding, number>();
        for (const ending of endings) byEnding.set(ending, (byEnding.get(ending) ?? 0) + 1);
        const grownMiB = (peak - baseline) / MIB;
        note(
          `flood ${JSON.stringify(Object.fromEntries(byEnding))}; ${processTree(pid).length} processes, RSS ${(baseline / MIB).toFixed(0)} MiB -> peak ` +
            `${(peak / MIB).toFixed(0)} MiB; steady statuses ${JSON.stringify(load.statuses())}, ` +
            `slowest ${Math.round(slowest(load.answers))} ms`,
        );

        // The large bodies let in (three quarters of the budget at a time) are cut off at their
        // body timeout (408); every other flooding connection is refused at once (503, counted
        // as overloaded) and closed. None is left hanging, none is closed without a word.
        expect([...byEnding.keys()].filter((ending) => ![408, 503, 'reset'].includes(ending))).toEqual([]);
        const cutOff = byEnding.get(408) ?? 0;
        expect(cutOff).toBeGreaterThan(0);
        const refused = byEnding.get(503) ?? 0;
        expect(refused).toBeGreaterThanOrEqual(0.9 * (FLOOD_CONNECTIONS - cutOff));
        const metrics = await (await fetch(`${producer.url}/metrics`)).text();
        expect(metricValue(metrics, 'events_ingested_total{outcome="overloaded"}')).toBeGreaterThanOrEqual(refused);

        // Memory of the whole producer, its primary and every worker (PRODUCER_WORKERS unset: one
        // per core), which share the one budget: what was let in (the budget), each body once
        // more as text while it is parsed, a socket read of each refused connection (runs have
        // peaked at 78 and 136 MiB of growth with 1,976 refused), and room for each process's
        // collector's lag.
        const processes = processTree(pid).length;
        const bound = 2 * MAX_RECEIVING_BYTES + refused * READ_PER_REFUSED_CONNECTION + processes * 32 * MIB;
        expect(grownMiB).toBeLessThan(bound / MIB);
        expect(notReady).toEqual([]);
        // The steady load was served all along: only 202s, none hung.
        expect(during.length).toBeGreaterThan(0);
        expect(Object.keys(load.statuses())).toEqual(['202']);
        await awaitAllProcessed(ledger, names, lease.brokers);
      } finally {
        await load.stop();
        await consumer.stop();
      }
    }));
});
