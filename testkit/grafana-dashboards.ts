import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
export const DASHBOARDS_DIR = join(ROOT, 'grafana', 'dashboards');

interface DatasourceRef {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  datasource?: DatasourceRef;
  rawSql?: string;
  expr?: string;
  format?: string;
}
interface Panel {
  title: string;
  type: string;
  interval?: string;
  datasource?: DatasourceRef;
  targets?: Target[];
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; datasource?: DatasourceRef; query?: string; multi?: boolean }[] };
  annotations?: { list: { name: string; datasource?: DatasourceRef; target?: Target }[] };
}

/** One query Grafana would run: of a panel, a template variable or an annotation. */
export interface DashboardQuery {
  /** "dashboard title / panel title [refId]", for test names and messages */
  where: string;
  datasourceUid: string;
  text: string;
  /** "time_series" or "table" for SQL panels; annotations and variables are tables */
  format: string;
  /** the panel's min interval ("1m"), which bounds $__interval from below */
  minInterval?: string;
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard }));
}

function uidOf(ref: DatasourceRef | undefined, where: string): string {
  if (!ref?.uid) throw new Error(`${where}: no data source uid`);
  return ref.uid;
}

function panelQueries(dashboard: Dashboard, panel: Panel): DashboardQuery[] {
  const nested = (panel.panels ?? []).flatMap((p) => panelQueries(dashboard, p)); // rows hold panels
  const own = (panel.targets ?? []).map((t) => {
    const where = `${dashboard.title} / ${panel.title} [${t.refId}]`;
    const text = t.rawSql ?? t.expr;
    if (!text) throw new Error(`${where}: neither rawSql nor expr`);
    return {
      where,
      datasourceUid: uidOf(t.datasource ?? panel.datasource, where),
      text,
      format: t.format ?? 'time_series',
      minInterval: panel.interval,
    };
  });
  return [...own, ...nested];
}

/** Every query of every dashboard: panels, query variables, annotations (Grafana's built-in one aside). */
export function dashboardQueries(): DashboardQuery[] {
  return loadDashboards().flatMap(({ dashboard }) => [
    ...dashboard.panels.flatMap((p) => panelQueries(dashboard, p)),
    ...(dashboard.templating?.list ?? [])
      .filter((v) => v.type === 'query')
      .map((v) => {
        const where = `${dashboard.title} / variable $${v.name}`;
        return { where, datasourceUid: uidOf(v.datasource, where), text: v.query ?? '', format: 'table' };
      }),
    ...(dashboard.annotations?.list ?? [])
      .filter((a) => a.target)
      .map((a) => {
        const where = `${dashboard.title} / annotation ${a.name}`;
        return {
          where,
          datasourceUid: uidOf(a.target!.datasource ?? a.datasource, where),
          text: a.target!.rawSql ?? a.target!.expr ?? '',
          format: 'table',
        };
      }),
  ]);
}
