import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureMonitoringTools, startMonitoring, type Monitoring } from '../reliability/support/monitoring';
import { handlerModule } from '../support/handlers';
import { testBrokers, testPort, uniqueName } from '../support/kafka';
import { metricValue, postJson, startProducer } from '../support/pipeline';
import { spawnConsumer, type ServiceProcess } from '../support/processes';
import { promInstant, promQuery } from '../support/prometheus';
import { waitFor } from '../support/wait';

jest.setTimeout(240_000);

/** EventsConsumerLagHigh's threshold in the repo's rules (dashboards/src/config.ts), in messages. */
const LAG_THRESHOLD = 1000;
/** Events held back by the gated handler: over the threshold. */
const BACKLOG = 1500;
/** The most events one POST /events may carry (the producer's default). */
const PER_REQUEST = 500;

// The bug this pins: the rules and dashboards fixed the group `events-processor` and the topic
// `events`, so a consumer run under other names got lag alerts and panels that saw nothing. Here
// the consumer process runs as a user who renamed them would run it, against the real
// kafka-exporter and Prometheus with the repo's config and rules, and the rules must see its
// group and nothing else.
describe('when the consumer runs with a renamed group and topic', () => {
  const names = {
    group: uniqueName('renamed-processor'),
    topic: uniqueName('renamed-events'),
  };
  const dlq = `${names.topic}.dlq`;
  const dir = mkdtempSync(path.join(tmpdir(), 'renamed-group-'));
  // The consumer's handler waits while this file exists: the test holds the group back, then lets it go.
  const gate = path.join(dir, 'paused');
  const ofGroup = `consumergroup="${names.group}",topic="${names.topic}"`;
  const groupLag = `events:consumergroup_lag:sum{${ofGroup}}`;
  const lagAlert = (state: string): string =>
    `ALERTS{alertname="EventsConsumerLagHigh",alertstate="${state}",${ofGroup}}`;
  let monitoring: Monitoring | undefined;
  let consumer: ServiceProcess | undefined;
  let producer: Awaited<ReturnType<typeof startProducer>> | undefined;

  const prometheus = (): string => monitoring!.prometheus;
  const send = async (count: number, prefix: string): Promise<void> => {
    for (let sent = 0; sent < count; sent += PER_REQUEST) {
      const batch = Array.from({ length: Math.min(PER_REQUEST, count - sent) }, (_, index) => ({
        type: 'order.placed',
        subject: `${prefix}-${sent + index}`,
      }));
      expect((await postJson(producer!.url, batch)).status).toBe(202);
    }
  };
  /** Fails with what kafka-exporter and Prometheus logged, and what Prometheus holds of the group. */
  const explained = async (error: unknown): Promise<never> => {
    const lag = await promInstant(prometheus(), `kafka_consumergroup_lag{consumergroup="${names.group}"}`);
    const info = await promInstant(prometheus(), 'events:consumer_info:latest');
    throw new Error(
      `${(error as Error).message}\nkafka-exporter's lag of the group: ${JSON.stringify(lag)}\n` +
        `events:consumer_info:latest: ${JSON.stringify(info)}\n${monitoring!.output()}\n--- consumer ---\n${consumer?.output() ?? ''}`,
    );
  };

  beforeAll(async () => {
    await ensureMonitoringTools();
    monitoring = await startMonitoring({
      brokers: testBrokers(),
      exporterPort: testPort(10_900),
      prometheusPort: testPort(10_901),
    });
    const consumerPort = testPort(10_902);
    consumer = await spawnConsumer(
      { ...names, dlq },
      { TOPIC_PARTITIONS: '1', HANDLER_MODULE: handlerModule('gated'), HANDLER_TIMEOUT_MS: '120000', GATE_FILE: gate },
      { port: consumerPort },
    );
    await monitoring.setTargets('consumer', [consumerPort]);
    producer = await startProducer({ EVENTS_TOPIC: names.topic, TOPIC_PARTITIONS: '1' });
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (consumer) {
      consumer.child.kill('SIGTERM');
      expect(await consumer.exited).toBe(0);
    }
    await producer?.stop();
    await monitoring?.stop();
  });

  it('both services report the names they run with as info series', async () => {
    const consumerMetrics = await (await fetch(`${consumer!.url}/metrics`)).text();
    expect(
      metricValue(
        consumerMetrics,
        `events_consumer_info{consumergroup="${names.group}",topic="${names.topic}",dlq_topic="${dlq}"}`,
      ),
    ).toBe(1);
    const producerMetrics = await (await fetch(`${producer!.url}/metrics`)).text();
    expect(metricValue(producerMetrics, `events_producer_info{topic="${names.topic}"}`)).toBe(1);
  });

  it('the lag rule sees the group, EventsConsumerLagHigh goes pending for it, and clears once the lag is drained', async () => {
    // A few events processed first: kafka-exporter measures the lag of a partition only from the
    // group's first commit on.
    await send(5, 'first');
    await waitFor(
      'the lag rule to see the renamed group caught up',
      async () => (await promQuery(prometheus(), groupLag)) === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
      },
    ).catch(explained);

    writeFileSync(gate, '');
    await send(BACKLOG, 'held');
    const lag = await waitFor(
      'the lag rule over the threshold',
      async () => {
        const value = await promQuery(prometheus(), groupLag);
        return value > LAG_THRESHOLD ? value : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    ).catch(explained);
    expect(lag).toBeGreaterThanOrEqual(BACKLOG - 1);
    // The rule records the consumers' group only: not the other tests' groups on this broker.
    expect((await promInstant(prometheus(), 'events:consumergroup_lag:sum')).map((series) => series.metric)).toEqual([
      { __name__: 'events:consumergroup_lag:sum', consumergroup: names.group, topic: names.topic },
    ]);

    await waitFor(
      'EventsConsumerLagHigh pending for the renamed group',
      async () => (await promQuery(prometheus(), lagAlert('pending'))) === 1,
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
      },
    ).catch(explained);
    const alerts = (await (await fetch(`${prometheus()}/api/v1/alerts`)).json()) as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    };
    expect(alerts.data.alerts.filter((alert) => alert.labels.alertname === 'EventsConsumerLagHigh')).toEqual([
      {
        labels: {
          alertname: 'EventsConsumerLagHigh',
          severity: 'warning',
          consumergroup: names.group,
          topic: names.topic,
        },
        state: 'pending',
        annotations: expect.objectContaining({ description: expect.stringContaining(`The group ${names.group} is`) }),
        activeAt: expect.any(String),
        value: expect.any(String),
      },
    ]);
    // The group has its member: the empty-group alert, which joins on the same names, stays quiet.
    expect(await promQuery(prometheus(), 'ALERTS{alertname="EventsConsumerGroupEmpty"}')).toBeNaN();

    rmSync(gate);
    await waitFor('the renamed group drained', async () => (await promQuery(prometheus(), groupLag)) === 0, {
      timeoutMs: 90_000,
      intervalMs: 1000,
    }).catch(explained);
    await waitFor('EventsConsumerLagHigh no longer pending', async () =>
      Number.isNaN(await promQuery(prometheus(), `ALERTS{alertname="EventsConsumerLagHigh",${ofGroup}}`)),
    ).catch(explained);
  });
});
