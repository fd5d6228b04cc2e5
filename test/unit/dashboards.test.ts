import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { createMetricsRegistry, createSchemaRegistryMetrics } from '@event-pipeline/common';
import { createConsumerMetrics } from '../../consumer/src/metrics';
import { ruleGroups } from '../../dashboards/src/alerts';
import { monitoring } from '../../dashboards/src/config';
import { GENERATED_DIR, generatedFiles, staleFiles, staleOutputs } from '../../dashboards/src/generate';
import { dashboards, panelQueries, PIPELINE_TAG, VARIABLES } from '../../dashboards/src/index';
import { createProducerMetrics } from '../../producer/src/metrics';

/**
 * kafka-exporter's metrics under the names Prometheus stores them
 * (observability/prometheus/prometheus.yml renames them), and Prometheus' own `up`.
 */
const EXPORTER_METRICS = [
  'kafka_brokers',
  'kafka_topic_partitions',
  'kafka_topic_partition_current_offset',
  'kafka_topic_partition_oldest_offset',
  'kafka_topic_partition_replicas',
  'kafka_topic_partition_in_sync_replica',
  'kafka_consumergroup_lag',
  'kafka_consumergroup_lag_sum',
  'kafka_consumergroup_members',
  'kafka_consumergroup_current_offset',
  'kafka_consumergroup_current_offset_sum',
  'up',
];

/** Every series name the services export (their own and the default Node.js metrics), as scraped. */
async function serviceMetricNames(): Promise<string[]> {
  const producer = createMetricsRegistry();
  createProducerMetrics(producer);
  const consumer = createMetricsRegistry();
  createConsumerMetrics(consumer);
  // Both services export these when SCHEMA_REGISTRY_URL is set.
  const registryClient = createMetricsRegistry();
  createSchemaRegistryMetrics(registryClient);
  const metrics = [
    ...(await producer.getMetricsAsJSON()),
    ...(await consumer.getMetricsAsJSON()),
    ...(await registryClient.getMetricsAsJSON()),
  ];
  return metrics.flatMap(({ name, type }) =>
    String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  );
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/** The metric names a PromQL expression selects: what is left without strings, matchers, windows, grouping and calls. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)]
    .map((match) => match[1]!)
    .filter((name) => !PROMQL_WORDS.has(name));
}

function panelsOf(board: dashboard.Dashboard): dashboard.Panel[] {
  return (board.panels ?? []).filter((panel): panel is dashboard.Panel => panel.type !== 'row');
}

function variablesUsed(board: dashboard.Dashboard): string[] {
  const names = new Set<string>();
  for (const { expr } of panelQueries([board])) {
    for (const match of expr.matchAll(/\$\{?(\w+)\}?/g)) if (!match[1]!.startsWith('__')) names.add(match[1]!);
  }
  return [...names].sort();
}

describe('the Grafana dashboards', () => {
  it('are generated: dashboards/generated/ holds what the code builds, and nothing else', () => {
    const stale = staleFiles();
    if (stale.length > 0) {
      throw new Error(
        `stale in ${GENERATED_DIR}: ${stale.join(', ')}; run \`npm run monitoring:generate\` and commit the result`,
      );
    }
    expect([...generatedFiles().keys()]).toEqual(dashboards.map((board) => `${board.uid}.json`));
  });

  it('are generated into the Helm chart too, with the rules: no generated file anywhere is stale', () => {
    expect(staleOutputs()).toEqual([]);
  });

  it('keep their uids: links, bookmarks and alerts point at them', () => {
    expect(dashboards.map((board) => board.uid)).toEqual([
      'event-pipeline-overview',
      'event-pipeline-kafka',
      'event-pipeline-runtime',
    ]);
  });

  it.each(dashboards.map((board) => [board.uid, board] as const))(
    '%s links to the other pipeline dashboards and shows the last hour, refreshing',
    (_uid, board) => {
      expect(board.tags).toContain(PIPELINE_TAG);
      expect(board.links).toEqual([
        expect.objectContaining({ type: 'dashboards', tags: [PIPELINE_TAG], includeVars: true, keepTime: true }),
      ]);
      expect(board.time).toEqual({ from: 'now-1h', to: 'now' });
      expect(['10s', '30s']).toContain(board.refresh);
    },
  );

  it.each(dashboards.map((board) => [board.uid, board] as const))(
    '%s declares exactly the variables its queries use',
    (_uid, board) => {
      const declared = (board.templating?.list ?? []).map((variable) => variable.name).sort();
      expect(declared).toEqual(variablesUsed(board));
      for (const variable of board.templating?.list ?? []) {
        expect(variable).toMatchObject({
          type: 'query',
          multi: true,
          includeAll: true,
          datasource: { uid: 'prometheus' },
        });
      }
      const instance = board.templating?.list?.find((variable) => variable.name === VARIABLES.instance);
      if (instance) {
        expect(instance.query).toBe('label_values(up{job=~"producer|consumer"}, instance)');
        expect(instance.allValue).toBe('.+');
      }
      const topic = board.templating?.list?.find((variable) => variable.name === VARIABLES.topic);
      if (topic) expect(topic.query).toBe('label_values(kafka_topic_partitions, topic)');
    },
  );

  it('give every panel a question, a description, a unit and Prometheus queries, and a unique id', () => {
    for (const board of dashboards) {
      const ids = (board.panels ?? []).map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const panel of panelsOf(board)) {
        const where = `${board.uid} › ${panel.title}`;
        expect({ where, title: panel.title?.endsWith('?') }).toEqual({ where, title: true });
        expect({ where, description: (panel.description ?? '').length > 20 }).toEqual({ where, description: true });
        expect({ where, unit: panel.fieldConfig?.defaults.unit ?? '' }).toEqual({
          where,
          unit: expect.stringMatching(/.+/),
        });
        expect({ where, datasource: panel.datasource }).toEqual({
          where,
          datasource: { type: 'prometheus', uid: 'prometheus' },
        });
        expect({ where, queries: (panel.targets ?? []).length > 0 }).toEqual({ where, queries: true });
      }
    }
  });

  it('query only metrics that the services and kafka-exporter export, or that the rules record from them', async () => {
    const recorded = ruleGroups().flatMap((group) =>
      group.rules.flatMap((rule) => ('record' in rule ? [rule.record] : [])),
    );
    const known = new Set([...(await serviceMetricNames()), ...EXPORTER_METRICS, ...recorded]);
    // The contract (DESIGN.md) among them: a rename in the services breaks this test.
    for (const contract of [
      'events_ingested_total',
      'events_processed_total',
      'http_server_request_duration_seconds_bucket',
    ])
      expect(known).toContain(contract);
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThanOrEqual(12);
    const unknown = queries.flatMap(({ dashboard: uid, panel, expr }) =>
      metricNames(expr)
        .filter((name) => !known.has(name))
        .map((name) => `${uid} › ${panel}: ${name} in ${expr}`),
    );
    expect(unknown).toEqual([]);
    expect(queries.every(({ expr }) => metricNames(expr).length > 0)).toBe(true);
  });

  it("rate over Grafana's $__rate_interval, never a fixed window", () => {
    const fixed = panelQueries()
      .filter(({ expr }) => [...expr.matchAll(/\[([^\]]*)\]/g)].some((window) => window[1] !== '$__rate_interval'))
      .map(({ panel, expr }) => `${panel}: ${expr}`);
    expect(fixed).toEqual([]);
  });

  it('draw the SLO bounds and alert thresholds of the monitoring config', () => {
    const steps = dashboards
      .flatMap(panelsOf)
      .flatMap((panel) => panel.fieldConfig?.defaults.thresholds?.steps ?? [])
      .map((step) => step.value);
    expect(steps).toEqual(
      expect.arrayContaining([
        Number(monitoring.slo.ingestLatency.seconds),
        monitoring.slo.ingestLatency.objective,
        Number(monitoring.slo.endToEndLatency.seconds),
        monitoring.slo.endToEndLatency.objective,
        monitoring.thresholds.ingestErrorRatio,
        monitoring.thresholds.consumerLagMessages,
        monitoring.thresholds.consumerLagSeconds,
        monitoring.thresholds.kafkaBrokers,
      ]),
    );
  });

  it('ask for exemplars once on every latency panel of the pipeline, so a slow point opens its trace', () => {
    const latencyQuantile =
      /histogram_quantile\(.*(http_server_request_duration|events_produce_duration|events_processing_duration|events_end_to_end_latency)_seconds_bucket/;
    const panels = dashboards
      .flatMap(panelsOf)
      .map((panel) => (panel.targets ?? []) as unknown as { expr: string; exemplar?: boolean }[])
      .filter((targets) => targets.some(({ expr }) => latencyQuantile.test(expr)));
    expect(panels.length).toBeGreaterThanOrEqual(4);
    // Exemplars belong to the histogram, not to a quantile: one query per panel draws them once.
    for (const targets of panels) expect(targets.filter((target) => target.exemplar === true)).toHaveLength(1);
  });

  it('are described panel by panel in dashboards/README.md', () => {
    const readme = readFileSync(path.join(GENERATED_DIR, '..', 'README.md'), 'utf8');
    const missing = dashboards.flatMap((board) =>
      [board.title, ...panelsOf(board).map((panel) => panel.title)].filter((title) => !readme.includes(title ?? '')),
    );
    expect(missing).toEqual([]);
  });
});
