/**
 * What Grafana does to a PostgreSQL panel's SQL before the database sees it, so tests can run
 * the dashboards' queries: first the template variables are interpolated ($device, $__interval,
 * $__interval_ms), then the data source's macros are expanded ($__timeFilter(col), ...), as
 * Grafana's PostgreSQL macro engine does with the `timescaledb` option on (time_bucket for
 * $__timeGroup). Anything it does not know is an error, so a dashboard cannot use a macro the
 * tests silently skip.
 */
export interface GrafanaQueryContext {
  from: Date;
  to: Date;
  /** $__interval as Grafana computed it for the panel (range / max data points, at least the panel's min interval). */
  intervalMs: number;
  /** Values of the dashboard's template variables; a multi-value one has several. */
  variables: Record<string, string[]>;
}

const UNITS: [suffix: string, ms: number][] = [
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
  ['w', 604_800_000],
];

/** Grafana's interval strings: "200ms", "30s", "5m", "1h", "1d", "1w". */
export function parseInterval(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new Error(`not a Grafana interval: "${text}"`);
  return Number(m[1]) * UNITS.find(([u]) => u === m[2])![1];
}

/** The largest unit that divides the interval, as Grafana writes $__interval ("1m", not "60s"). */
export function formatInterval(ms: number): string {
  for (const [unit, size] of [...UNITS].reverse()) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  throw new Error(`interval must be whole milliseconds: ${ms}`);
}

/** Grafana's timestamp literal: RFC 3339 in UTC (with the fraction of a second it has). */
function timestamp(d: Date): string {
  return `'${d.toISOString()}'`;
}

/** A multi-value variable in SQL: each value quoted, comma-separated (Grafana's sqlstring format). */
function sqlValues(values: string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
}

function interpolateVariables(sql: string, ctx: GrafanaQueryContext): string {
  return sql.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name === '__interval_ms') return String(ctx.intervalMs);
    if (name === '__interval') return formatInterval(ctx.intervalMs);
    if (name.startsWith('__')) return whole; // a macro: expanded in the next step
    const values = ctx.variables[name];
    if (!values) throw new Error(`template variable $${name} has no value`);
    return sqlValues(values);
  });
}

function expandMacro(name: string, args: string[], ctx: GrafanaQueryContext): string {
  const need = (n: number) => {
    if (args.length !== n) throw new Error(`$__${name} takes ${n} argument(s), got ${args.length}`);
  };
  switch (name) {
    case 'time':
      need(1);
      return `${args[0]} AS "time"`;
    case 'timeFilter':
      need(1);
      return `${args[0]} BETWEEN ${timestamp(ctx.from)} AND ${timestamp(ctx.to)}`;
    case 'timeFrom':
      need(0);
      return timestamp(ctx.from);
    case 'timeTo':
      need(0);
      return timestamp(ctx.to);
    case 'timeGroup':
    case 'timeGroupAlias': {
      // Grafana takes a third argument (fill) that changes the result frame, not the SQL the
      // database runs; the dashboards do not use it, so it is refused rather than ignored.
      need(2);
      const seconds = parseInterval(args[1].replace(/^['"]|['"]$/g, '')) / 1000;
      const group = `time_bucket('${seconds}s',${args[0]})`;
      return name === 'timeGroup' ? group : `${group} AS "time"`;
    }
    default:
      throw new Error(`unknown Grafana macro $__${name}`);
  }
}

/** The SQL Grafana sends to PostgreSQL for this panel query in this context. */
export function expandGrafanaSql(sql: string, ctx: GrafanaQueryContext): string {
  const interpolated = interpolateVariables(sql, ctx);
  const expanded = interpolated.replace(/\$__(\w+)\(([^)]*)\)/g, (_whole, name: string, argText: string) => {
    const args = argText.trim() === '' ? [] : argText.split(',').map((a) => a.trim());
    return expandMacro(name, args, ctx);
  });
  const left = /\$\w+/.exec(expanded);
  if (left) throw new Error(`unexpanded ${left[0]} in: ${expanded}`);
  return expanded;
}
