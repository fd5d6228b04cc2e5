// What the three dashboards share: tags and links to each other, the time range and refresh,
// the template variables, and the rows of panels.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { monitoring } from './config';
import { PROMETHEUS } from './panels';
import { VARIABLES, type VariableName } from './promql';

/** Every dashboard of the pipeline carries it; the links between them find each other by it. */
export const PIPELINE_TAG = 'event-pipeline';

export interface Row {
  title: string;
  panels: cog.Builder<dashboard.Panel>[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Tags beside PIPELINE_TAG. */
  tags: string[];
  refresh: '10s' | '30s';
  /** The variables its queries use, in the order of the controls. */
  variables: VariableName[];
  rows: Row[];
}

const servicesUp = `up{job=~"${monitoring.jobs.producer}|${monitoring.jobs.consumer}"}`;

const variableBuilders: Record<VariableName, () => dashboard.QueryVariableBuilder> = {
  instance: () =>
    new dashboard.QueryVariableBuilder(VARIABLES.instance)
      .label('Instance')
      .description('Producer and consumer instances (host:port of their metrics endpoint).')
      .datasource(PROMETHEUS)
      .query(`label_values(${servicesUp}, instance)`)
      .definition(`label_values(${servicesUp}, instance)`)
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      // `.+` rather than a list of every value: instances that appear later are in "All" too.
      .allValue('.+')
      .current({ selected: true, text: ['All'], value: ['$__all'] }),
  topic: () =>
    new dashboard.QueryVariableBuilder(VARIABLES.topic)
      .label('Topic')
      .description('Kafka topics, as kafka-exporter reports them.')
      .datasource(PROMETHEUS)
      .query('label_values(kafka_topic_partitions, topic)')
      .definition('label_values(kafka_topic_partitions, topic)')
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .current({ selected: true, text: ['All'], value: ['$__all'] }),
};

/** Grafana's dashboard JSON model, ready to provision. */
export function buildDashboard(spec: DashboardSpec): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([PIPELINE_TAG, ...spec.tags])
    .time({ from: 'now-1h', to: 'now' })
    .refresh(spec.refresh)
    .timepicker(new dashboard.TimePickerBuilder().refreshIntervals(['10s', '30s', '1m', '5m', '15m']))
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    // Grafana's own annotations (alert state changes, manual notes), as a new dashboard has them.
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name('Annotations & Alerts')
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .type('dashboard')
        .builtIn(1)
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)'),
    )
    .link(
      new dashboard.DashboardLinkBuilder('Event pipeline')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([PIPELINE_TAG])
        .asDropdown(false)
        .includeVars(true)
        .keepTime(true),
    );
  for (const name of spec.variables) builder.withVariable(variableBuilders[name]());
  for (const row of spec.rows) {
    // An open row followed by its panels at the top level, as Grafana saves an expanded row.
    builder.withRow(new dashboard.RowBuilder(row.title));
    for (const panel of row.panels) builder.withPanel(panel);
  }
  const built = builder.build();
  // Grafana keys panel state (view, explore, links to a panel) on ids unique in the dashboard.
  built.panels?.forEach((panel, index) => {
    panel.id = index + 1;
  });
  // The SDK files every link under the controls menu; on the dashboard's top bar the other
  // dashboards are one click away.
  for (const link of built.links ?? []) delete link.placement;
  return built;
}
