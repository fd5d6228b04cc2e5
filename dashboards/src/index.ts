import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { kafka } from './kafka';
import { overview } from './overview';
import { runtime } from './runtime';

export { PIPELINE_TAG } from './frame';
export { VARIABLES } from './promql';

/** Every dashboard of the pipeline, as Grafana's JSON model; the overview first. */
export const dashboards: dashboard.Dashboard[] = [overview, kafka, runtime];

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

/** Every query of every panel (rows hold none), in dashboard and panel order. */
export function panelQueries(list: dashboard.Dashboard[] = dashboards): PanelQuery[] {
  return list.flatMap((board) =>
    (board.panels ?? []).flatMap((panel) =>
      ((panel as dashboard.Panel).targets ?? []).map((target) => {
        const { refId, expr } = target as unknown as { refId: string; expr: string };
        return { dashboard: board.uid ?? board.title ?? '', panel: panel.title ?? '', refId, expr };
      }),
    ),
  );
}
