import { monitoring } from '../../dashboards/src/config';
import { postJson } from '../support/pipeline';
import { promInstant } from '../support/prometheus';
import { movedStackLayout, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(420_000);

interface AlertmanagerAlert {
  labels: Record<string, string>;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
}

/** The alerts Prometheus holds now, by name: `pending` or `firing`. */
async function alertStates(prometheus: string): Promise<Record<string, string>> {
  const series = await promInstant(prometheus, 'ALERTS');
  return Object.fromEntries(series.map(({ metric }) => [metric.alertname!, metric.alertstate!]));
}

// The alert rules and Alertmanager's inhibitions, end to end on the local stack: when Kafka goes
// away, the page that arrives names the cause, and its symptoms are silenced.
describe('when Kafka goes away under the local stack', () => {
  const layout = movedStackLayout(10_800, 'outage');
  let stack: TestStack | undefined;
  const url = (name: string): string => stack!.url(name);

  beforeAll(async () => {
    stack = await startTestStack(layout);
    for (let index = 0; index < 10; index += 1) {
      expect((await postJson(url('producer'), { type: 'order.placed', subject: `outage-${index}` })).status).toBe(202);
    }
    await waitFor(
      'a healthy stack: every contract series scraped, and no alert',
      async () => {
        const ready = await promInstant(url('prometheus'), 'events_producer_kafka_ready == 1');
        const topics = await promInstant(url('prometheus'), 'kafka_topic_partitions');
        const alerts = await alertStates(url('prometheus'));
        return ready.length === 1 && topics.length > 0 && Object.keys(alerts).length === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  });

  afterAll(async () => stack?.destroy());

  it('pages KafkaBrokersMissing before any symptom fires, and Alertmanager silences the symptoms', async () => {
    const stopped = Date.now();
    await stack!.part('kafka').down();

    // The cause fires first: its symptoms may be pending, none firing.
    const atCause = await waitFor(
      'KafkaBrokersMissing firing',
      async () => {
        const alerts = await alertStates(url('prometheus'));
        return alerts.KafkaBrokersMissing === 'firing' ? alerts : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1000 },
    );
    const causeAfter = (Date.now() - stopped) / 1000;
    expect(Object.entries(atCause).filter(([, state]) => state === 'firing')).toEqual([
      ['KafkaBrokersMissing', 'firing'],
    ]);
    expect(atCause.EventsProducerNotReady).toBe('pending');

    // The producer's own alert fires later, and reaches Alertmanager silenced.
    await waitFor(
      'EventsProducerNotReady firing',
      async () => ((await alertStates(url('prometheus'))).EventsProducerNotReady === 'firing' ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    const inAlertmanager = await waitFor(
      'both alerts in Alertmanager',
      async () => {
        const alerts = (await (await fetch(`${url('alertmanager')}/api/v2/alerts`)).json()) as AlertmanagerAlert[];
        const byName = Object.fromEntries(alerts.map((alert) => [alert.labels.alertname!, alert.status.state]));
        return byName.KafkaBrokersMissing && byName.EventsProducerNotReady ? byName : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(inAlertmanager).toMatchObject({ KafkaBrokersMissing: 'active', EventsProducerNotReady: 'suppressed' });
    for (const [name, state] of Object.entries(inAlertmanager)) {
      if (name !== 'KafkaBrokersMissing') expect([name, state]).toEqual([name, 'suppressed']);
    }
    console.info(
      `Kafka stopped: KafkaBrokersMissing fired after ${causeAfter.toFixed(0)} s (for: ${monitoring.for.kafkaBrokersMissing}); ` +
        `Alertmanager: ${JSON.stringify(inAlertmanager)}`,
    );
  });
});
