import { panelQueries } from '../../dashboards/src/index';
import { postJson } from '../support/pipeline';
import { promInstant, promQuery, promSeries } from '../support/prometheus';
import { movedStackLayout, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(300_000);

const EVENTS = 100;
const MALFORMED = 3;
/** observability/prometheus/prometheus.yml */
const SCRAPE_INTERVAL_S = 5;

/**
 * What Grafana puts in place of the variables: every instance, the topic the consumer reports it
 * consumes (filled in once the stack runs), and windows that hold several scrapes.
 */
const GRAFANA_VALUES: Record<string, string> = {
  instance: '.+',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '5m',
};

function substituted(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (_match, name: string) => {
    const value = GRAFANA_VALUES[name];
    if (value === undefined) throw new Error(`no value for $${name} in ${expr}: add it to GRAFANA_VALUES`);
    return value;
  });
}

// Every panel of the dashboards shows data on a healthy stack that took some events: the stack
// of `npm run stack:up`, on ports of its own (test/support/kafka.ts).
describe('the Grafana dashboards on the local stack', () => {
  const layout = movedStackLayout(10_600, 'dashboards');
  let stack: TestStack | undefined;
  const url = (name: string): string => stack!.url(name);
  const prometheus = (): string => url('prometheus');

  beforeAll(async () => {
    stack = await startTestStack(layout);

    for (let first = 0; first < EVENTS; first += 10) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          postJson(url('producer'), { type: 'order.placed', subject: `dashboards-${first + index}` }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(202));
    }
    for (let index = 0; index < MALFORMED; index += 1) {
      const answer = await postJson(url('producer'), '{"type": "order.placed",');
      expect(answer.status).toBe(400);
    }

    await waitFor(
      'Prometheus to count every event accepted, rejected and processed',
      async () => {
        const accepted = await promQuery(prometheus(), 'sum(events_ingested_total{outcome="accepted"})');
        const invalid = await promQuery(prometheus(), 'sum(events_ingested_total{outcome="invalid"})');
        const processed = await promQuery(prometheus(), 'sum(events_processed_total{outcome="success"})');
        return accepted >= EVENTS && invalid >= MALFORMED && processed >= EVENTS ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    // Three more scrapes of every target: rates see the load, kafka-exporter the group's commits.
    const loaded = Date.now() / 1000;
    await waitFor(
      'three scrapes of every target after the load',
      async () => {
        const oldest = await promQuery(prometheus(), 'min(timestamp(up{job=~"producer|consumer|kafka-exporter"}))');
        return oldest > loaded + 2 * SCRAPE_INTERVAL_S ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const [info] = await promSeries(prometheus(), 'events_consumer_info');
    GRAFANA_VALUES.topic = info!.topic!;
  });

  afterAll(async () => stack?.destroy());

  it('fills the template variables: the instances of both services and the topics the consumer reports', async () => {
    const instances = (await promSeries(prometheus(), 'up{job=~"producer|consumer"}')).map((series) => series.instance);
    expect(instances.sort()).toEqual([`127.0.0.1:${layout.producerPort}`, `127.0.0.1:${layout.consumerPort}`].sort());
    const info = await promSeries(prometheus(), 'events_consumer_info');
    expect(info).toHaveLength(1);
    const topics = (await promSeries(prometheus(), 'kafka_topic_partitions')).map((series) => series.topic);
    expect(topics).toEqual(expect.arrayContaining([info[0]!.topic, info[0]!.dlq_topic]));
  });

  it(`has a series for every query of every panel after ${EVENTS} events`, async () => {
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThanOrEqual(12);
    const empty: string[] = [];
    for (const { dashboard, panel, refId, expr } of queries) {
      const query = substituted(expr);
      const found = await promInstant(prometheus(), query).catch((error: unknown) => String(error));
      if (typeof found === 'string' || found.length === 0) {
        empty.push(
          `${dashboard} › ${panel} (${refId}): ${typeof found === 'string' ? found : 'no series'} for ${query}`,
        );
      }
    }
    expect(empty).toEqual([]);
  });
});
