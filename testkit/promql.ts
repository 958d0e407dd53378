import { parser } from '@prometheus-io/lezer-promql';

/**
 * The metric names a PromQL expression selects (`rate(foo_total[5m])` → foo_total), read from
 * Prometheus' own grammar, so function names, label names and keywords never count. Throws
 * on a syntax error. Grafana's variables ($__rate_interval...) must be substituted first.
 */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let error: number | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.add(expr.slice(node.from, node.to));
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error}: ${expr}`);
  return [...names].sort();
}

/** Grafana's interval variables in a panel's PromQL, as Grafana replaces them before sending it. */
export function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '1m');
}

/** Metric names a Prometheus text exposition declares (# TYPE lines), with a histogram's and summary's series. */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}
