import type { Alert } from '../schemas';
import { formatAlert } from '../schemas/alert-format';
import { ALERT_KINDS, type AlertComparison, type TruthScore } from './backtest';
import type { DetectorSettings } from './settings';

export interface BacktestReport {
  topic: string;
  fromMs: number;
  toMs: number;
  /** Readings judged, and how many of them lay before --from (the warm-up). */
  readings: number;
  warmupReadings: number;
  /** Settings that differ from the defaults, as run. */
  changed: Partial<DetectorSettings>;
  liveAlerts: number;
  comparison: AlertComparison;
  truth?: { file: string; events: number; new: TruthScore; old: TruthScore };
}

/** The settings that differ from `defaults`. */
export function changedSettings(settings: DetectorSettings, defaults: DetectorSettings): Partial<DetectorSettings> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(settings) as (keyof DetectorSettings)[]) if (settings[key] !== defaults[key]) out[key] = settings[key];
  return out as Partial<DetectorSettings>;
}

const cell = (text: string | number, width = 10) => String(text).padStart(width);
const ratio = (found: number, events: number) => (events === 0 ? '-' : `${found}/${events} ${(found / events).toFixed(2)}`);

/** The terminal form of a backtest: counts per kind, the differing alerts (up to `limit` a side), the scores. */
export function formatBacktest(r: BacktestReport, limit: number): string {
  const c = r.comparison;
  const changed =
    Object.entries(r.changed)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none (the defaults)';
  const lines = [
    `backtest of ${r.topic} from ${new Date(r.fromMs).toISOString()} to ${new Date(r.toMs).toISOString()}`,
    `  ${r.readings} readings judged (${r.warmupReadings} before --from, to warm up); ${r.liveAlerts} alerts of the live detector in the range`,
    `  settings changed: ${changed}`,
    '',
    `${'kind'.padEnd(18)}${cell('new only')}${cell('old only')}${cell('both')}`,
  ];
  for (const kind of ALERT_KINDS) {
    const k = c.perKind[kind];
    lines.push(`${kind.padEnd(18)}${cell(k.onlyNew)}${cell(k.onlyOld)}${cell(k.both)}`);
  }
  lines.push(`${'total'.padEnd(18)}${cell(c.onlyNew.length)}${cell(c.onlyOld.length)}${cell(c.both.length)}`);
  const list = (title: string, alerts: readonly Alert[]) => {
    if (alerts.length === 0) return;
    lines.push('', `${title}:`, ...alerts.slice(0, limit).map((a) => `  ${formatAlert(a)}`));
    if (alerts.length > limit) lines.push(`  … and ${alerts.length - limit} more (--limit, or --json for all)`);
  };
  list('only new (these settings would raise them, the live detector did not)', c.onlyNew);
  list('only old (the live detector raised them, these settings would not)', c.onlyOld);
  if (r.truth) {
    const t = r.truth;
    lines.push('', `ground truth (${t.file}: ${t.events} events in the range)`, `${''.padEnd(18)}${cell('new', 12)}${cell('old', 12)}`);
    for (const kind of ['spike', 'drift', 'stuck', 'dropout'] as const) {
      const [n, o] = [t.new.recall[kind], t.old.recall[kind]];
      lines.push(`${`${kind} recall`.padEnd(18)}${cell(ratio(n.found, n.events), 12)}${cell(ratio(o.found, o.events), 12)}`);
    }
    lines.push(`${'unexplained'.padEnd(18)}${cell(t.new.unexplained, 12)}${cell(t.old.unexplained, 12)}`);
  }
  return lines.join('\n');
}

/** The `--json` form: the counts, every differing alert, the scores. */
export function backtestJson(r: BacktestReport): string {
  const c = r.comparison;
  return JSON.stringify({
    topic: r.topic,
    from: new Date(r.fromMs).toISOString(),
    to: new Date(r.toMs).toISOString(),
    readings: r.readings,
    warmupReadings: r.warmupReadings,
    settingsChanged: r.changed,
    liveAlerts: r.liveAlerts,
    perKind: c.perKind,
    total: { onlyNew: c.onlyNew.length, onlyOld: c.onlyOld.length, both: c.both.length },
    onlyNew: c.onlyNew,
    onlyOld: c.onlyOld,
    truth: r.truth,
  });
}
