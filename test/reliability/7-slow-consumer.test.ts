import { groupProgress, testPort } from '../support/kafka';
import type { ServiceProcess } from '../support/processes';
import { promQuery } from '../support/prometheus';
import { waitFor } from '../support/wait';
import { leaseCluster, type ClusterLease } from './support/cluster';
import { runScenario } from './support/ledger';
import { startLoad, type Load } from './support/load';
import { ensureMonitoringTools, startMonitoring, type Monitoring } from './support/monitoring';
import {
  awaitAllProcessed,
  processedFileHandler,
  scenarioNames,
  spawnScenarioConsumer,
  startScenarioProducer,
} from './support/pipeline';

jest.setTimeout(300_000);

/** The consumer's default group: the lag rules follow whatever group it reports (test/e2e/renamed-group.test.ts renames it). */
const GROUP = 'events-processor';
/** The alert's threshold, in messages. */
const LAG_THRESHOLD = 1000;
/** One event at a time (one partition, one key), each 20 ms: some 40 events a second, against some 180 sent. */
const SLOW = { delayMs: 20, partitionsConsumedConcurrently: 1, handlerConcurrency: 1 };
const LOAD_RATE = 100;

// Lag, as an operator sees it: the real kafka-exporter and Prometheus with the repo's config and
// rules watch a consumer process that falls behind the load. The alert's condition must become
// true (the alert pending) while the lag grows, and false again once a fast consumer has drained
// the backlog; every accepted event is processed. The alert's `for: 5m` is not waited out: the
// scenario shows the condition, not the five minutes that turn it from pending to firing.
describe('when the consumer is slower than the load', () => {
  let lease: ClusterLease;
  beforeAll(async () => {
    // A first run builds kafka-exporter (Go) and may install Prometheus: not while holding the cluster.
    await ensureMonitoringTools();
    lease = await leaseCluster();
  });
  afterAll(async () => lease?.release());

  it('the lag alert becomes pending while the lag grows, and clears once the backlog is drained', () =>
    runScenario('7. slow consumer: the lag alert fires (pending), then clears', async (ledger, note) => {
      const names = { ...scenarioNames('slow-consumer'), group: GROUP };
      const topic = `topic="${names.topic}"`;
      const pendingAlert = `ALERTS{alertname="EventsConsumerLagHigh",alertstate="pending",consumergroup="${GROUP}",${topic}}`;
      const firingAlert = `ALERTS{alertname="EventsConsumerLagHigh",alertstate="firing",${topic}}`;
      const groupLag = `events:consumergroup_lag:sum{consumergroup="${GROUP}",${topic}}`;
      const lagSeconds = `max(events:consumer_lag_seconds:max{${topic}})`;
      const handlers = [processedFileHandler({ delayMs: SLOW.delayMs }), processedFileHandler()];
      const consumers: ServiceProcess[] = [];
      let monitoring: Monitoring | undefined;
      let load: Load | undefined;
      const producer = await startScenarioProducer(lease.brokers, names);
      try {
        monitoring = await startMonitoring({
          brokers: lease.brokers,
          exporterPort: testPort(10_700),
          prometheusPort: testPort(10_701),
        });
        const prometheus = monitoring.prometheus;
        const [slowPort, fastPort] = [testPort(10_702), testPort(10_703)];
        consumers.push(
          await spawnScenarioConsumer(
            lease.brokers,
            names,
            {
              ...handlers[0]!.env,
              PARTITIONS_CONSUMED_CONCURRENTLY: String(SLOW.partitionsConsumedConcurrently),
              HANDLER_CONCURRENCY: String(SLOW.handlerConcurrency),
            },
            { port: slowPort },
          ),
        );
        await monitoring.setTargets('consumer', [slowPort]);

        // The slow phase: the load goes on until the alert's condition holds, so the lag keeps growing.
        const started = Date.now();
        const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
        const lagSeen: string[] = [];
        let peakLag = 0;
        load = startLoad({ url: producer.url, ledger, prefix: 'slow', ratePerSecond: LOAD_RATE });
        await waitFor(
          'EventsConsumerLagHigh pending',
          async () => {
            const lag = await promQuery(prometheus, groupLag);
            if (!Number.isNaN(lag)) {
              peakLag = Math.max(peakLag, lag);
              lagSeen.push(`${seconds()}s:${lag}`);
            }
            return (await promQuery(prometheus, pendingAlert)) === 1;
          },
          { timeoutMs: 120_000, intervalMs: 2000 },
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; lag seen ${lagSeen.join(' ')}\n${monitoring!.output()}`);
        });
        const pendingAfter = seconds();
        const lagAtPending = await promQuery(prometheus, groupLag);
        const progress = await groupProgress(names.group, names.topic, lease.brokers);
        await load.stop();
        expect(lagAtPending).toBeGreaterThan(LAG_THRESHOLD);
        // Pending is as far as it gets here: firing takes the rule's five minutes.
        expect(await promQuery(prometheus, firingAlert)).toBeNaN();

        // The consumer's own view: the oldest event it has not finished gets older.
        const ageBefore = await waitFor('the time lag', async () => {
          const age = await promQuery(prometheus, lagSeconds);
          return Number.isNaN(age) ? undefined : age;
        });
        const ageLater = await waitFor(
          'the time lag to grow',
          async () => {
            const age = await promQuery(prometheus, lagSeconds);
            return age >= ageBefore + 5 ? age : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 1000 },
        );

        // The remedy: the slow consumer leaves (SIGTERM: it finishes the event in hand and
        // commits), a fast one takes the group over and drains the backlog.
        const slow = consumers[0]!;
        slow.child.kill('SIGTERM');
        expect(await slow.exited).toBe(0);
        const drainStarted = Date.now();
        consumers.push(
          await spawnScenarioConsumer(
            lease.brokers,
            names,
            { ...handlers[1]!.env, PARTITIONS_CONSUMED_CONCURRENTLY: '6' },
            { port: fastPort },
          ),
        );
        await monitoring.setTargets('consumer', [fastPort]);
        const recount = (): void => {
          // The ledger is rebuilt from the handlers' files: they are the consumer processes' record.
          ledger.resetProcessed();
          for (const handler of handlers) for (const id of handler.processedIds()) ledger.process(id);
        };
        await awaitAllProcessed(ledger, names, lease.brokers, { timeoutMs: 90_000, refresh: recount });
        const drainedAfter = (Date.now() - drainStarted) / 1000;

        // Prometheus sees the lag gone, and the alert's condition false: no pending alert any more.
        await waitFor('the group lag back to 0', async () => (await promQuery(prometheus, groupLag)) === 0, {
          timeoutMs: 60_000,
          intervalMs: 1000,
        });
        await waitFor('EventsConsumerLagHigh no longer pending', async () =>
          Number.isNaN(await promQuery(prometheus, pendingAlert)),
        );
        const clearedAfter = (Date.now() - drainStarted) / 1000;
        note(
          `alert pending ${pendingAfter}s after the load began, lag ${lagAtPending} (peak ${peakLag}); ` +
            `lag seen ${lagSeen.join(' ')}; committed ${JSON.stringify(progress.map((p) => p.high - p.committed))}; ` +
            `time lag ${ageBefore.toFixed(1)}s then ${ageLater.toFixed(1)}s; ` +
            `slow consumer processed ${handlers[0]!.processedIds().length}; ` +
            `drained in ${drainedAfter.toFixed(1)}s, alert cleared ${clearedAfter.toFixed(1)}s after the drain began; ` +
            `statuses ${JSON.stringify(load.statuses())}`,
        );
        expect(Object.keys(load.statuses())).toEqual(['202']);
      } finally {
        await load?.stop();
        for (const consumer of consumers) consumer.child.kill('SIGKILL');
        await Promise.all(consumers.map((consumer) => consumer.exited));
        await producer.stop();
        await monitoring?.stop();
      }
    }));
});
