// Panels as the dashboards build them: every panel asks one question, says in its description
// how to read the answer, has a unit, and queries the provisioned Prometheus datasource.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Grafana's provisioned Prometheus datasource; its exemplar setting links trace ids to Jaeger. */
export const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

export interface Query {
  expr: string;
  /** Grafana's legend template, e.g. `{{outcome}}`. */
  legend: string;
  /** Ask Prometheus for the histogram's exemplars (trace ids) too. */
  exemplar?: boolean;
}

/** Colour steps: where a value turns from fine to bad. */
export type Thresholds = dashboard.Threshold[];

/** Values from `limit` up are bad (lag, error ratio, latency). */
export function badFrom(limit: number): Thresholds {
  return [
    { value: null, color: 'green' },
    { value: limit, color: 'red' },
  ];
}

/** Values below `limit` are bad (SLO attainment, brokers, readiness). */
export function badBelow(limit: number): Thresholds {
  return [
    { value: null, color: 'red' },
    { value: limit, color: 'green' },
  ];
}

export interface PanelSpec {
  /** The operator's question the panel answers. */
  title: string;
  /** How to read it: what the series are and what is normal. */
  description: string;
  /** A Grafana unit id: `s`, `ops`, `short`, `bytes`, `percentunit`, ... */
  unit: string;
  queries: Query[];
  /** Timeseries: a dashed line at each step's value; stat: the value's colour. */
  thresholds?: Thresholds;
  /** Of the dashboard's 24 columns. */
  width?: number;
  height?: number;
}

function target(query: Query, index: number): prometheus.DataqueryBuilder {
  const builder = new prometheus.DataqueryBuilder()
    .datasource(PROMETHEUS)
    .refId(String.fromCharCode(65 + index))
    .expr(query.expr)
    .legendFormat(query.legend);
  return query.exemplar ? builder.exemplar(true) : builder;
}

function thresholdsConfig(steps: Thresholds): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

export function timeseriesPanel(spec: PanelSpec): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .targets(spec.queries.map(target))
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending),
    );
  if (spec.thresholds) {
    panel
      .thresholds(thresholdsConfig(spec.thresholds))
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  return panel;
}

/** Text shown for a value instead of the number, with its colour. */
export type ValueTexts = Record<string, { text: string; color: string }>;

export function statPanel(spec: PanelSpec & { valueTexts?: ValueTexts }): stat.PanelBuilder {
  const panel = new stat.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .targets(spec.queries.map(target))
    .span(spec.width ?? 6)
    .height(spec.height ?? 5)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholdsConfig(spec.thresholds ?? [{ value: null, color: 'blue' }]));
  if (spec.valueTexts) {
    panel.mappings([{ type: dashboard.MappingType.ValueToText, options: spec.valueTexts }]);
  }
  return panel;
}
