/**
 * Draws the SQL dashboards as PNGs without Grafana (which cannot be installed on the project
 * machine): a fresh migrated database gets a simulated fleet (the simulator's model, written
 * through the writer's own batch path so the rollups stay current, and the detector's own
 * alerts), every panel's SQL runs with Grafana's macros expanded for the last 24 hours and
 * $device = All, and each dashboard is laid out by its panels' gridPos as one SVG, converted by
 * rsvg-convert (Debian: librsvg2-bin). The Prometheus dashboard needs live metrics: not drawn.
 *
 *   set -a; . .stack/env; set +a; npx tsx grafana/render.ts [--out grafana/rendered]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { Detector } from '../detector/detector';
import { defaultDetectorSettings } from '../detector/settings';
import type { Alert, Reading } from '../schemas';
import { generateFleet } from '../simulator/fleet';
import { resolveConfig } from '../simulator/options';
import { toFleetPlan } from '../simulator/plan';
import { expandGrafanaSql, GrafanaQueryContext, parseInterval } from '../testkit/grafana-macros';
import { DASHBOARDS_DIR } from '../testkit/grafana-dashboards';
import { kafkaReadingOf } from '../testkit/evaluation';
import { createMigratedDatabase } from '../testkit/pg';
import { writeBatch } from '../writer/store';
import { alertTable, telemetryTable } from '../writer/tables';

const DASHBOARDS = ['fleet-overview.json', 'device-telemetry.json'];
const DEVICES = 8;
const HOURS = 24;
const INTERVAL_S = 60;
const SEED = 20241128; // fixed: the same fleet every run, only the clock moves
// What Grafana computes for a ~1000 px wide panel over 24 h (86 s, rounded to 1m).
const INTERVAL_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Dashboard JSON: only what the drawing reads
// ---------------------------------------------------------------------------------------------
interface Threshold {
  color: string;
  value: number | null;
}
interface FieldConfig {
  defaults?: {
    unit?: string;
    min?: number;
    max?: number;
    decimals?: number;
    thresholds?: { steps: Threshold[] };
    custom?: { thresholdsStyle?: { mode?: string } };
  };
  overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[];
}
interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  interval?: string;
  fieldConfig?: FieldConfig;
  options?: { colorMode?: string };
  targets?: { rawSql?: string; format?: string }[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string }[] };
}
type Row = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------
async function fillFleet(pool: Pool, nowMs: number): Promise<{ readings: number; alerts: number }> {
  const plan = toFleetPlan(
    resolveConfig({ 'fleet.deviceCount': DEVICES, 'fleet.interval': INTERVAL_S, 'fleet.duration': HOURS * 3600, 'fleet.withSeq': true }),
    SEED,
    nowMs - HOURS * 3_600_000,
  );
  // The detector runs as the service would, with the send time as its clock, so alerts carry
  // realistic detection times (evaluation.ts's detect() passes 0: it only scores them).
  const detector = new Detector(defaultDetectorSettings());
  const readings: Reading[] = [];
  const alerts: Alert[] = [];
  let nextTickMs = 0;
  for (const e of generateFleet(plan)) {
    const reading = kafkaReadingOf(e);
    readings.push(reading);
    alerts.push(...detector.onReading(reading, e.emitAtMs));
    if (e.emitAtMs >= nextTickMs) {
      nextTickMs = e.emitAtMs + 5000;
      alerts.push(...detector.onTick(detector.eventTimeWatermarkUs, true, e.emitAtMs));
    }
  }
  // the writer's batch size; each batch fires the rollups' statement-level trigger once
  for (let i = 0; i < readings.length; i += 5000) await writeBatch(pool, telemetryTable, readings.slice(i, i + 5000));
  await writeBatch(pool, alertTable, alerts);
  return { readings: readings.length, alerts: alerts.length };
}

async function runPanels(pool: Pool, dashboard: Dashboard, from: Date, to: Date): Promise<Row[][]> {
  const base = { from, to, intervalMs: INTERVAL_MS, variables: {} };
  // $device = All: Grafana substitutes every value its variable query lists
  const variables: Record<string, string[]> = {};
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query' || !v.query) continue;
    const { rows } = await pool.query(expandGrafanaSql(v.query, base));
    variables[v.name] = rows.map((r) => String(Object.values(r)[0]));
  }
  const results: Row[][] = [];
  for (const panel of dashboard.panels) {
    const sql = panel.targets?.[0]?.rawSql;
    if (!sql) throw new Error(`${dashboard.title} / ${panel.title}: no SQL`);
    const ctx: GrafanaQueryContext = {
      ...base,
      variables,
      intervalMs: Math.max(INTERVAL_MS, panel.interval ? parseInterval(panel.interval) : 0),
    };
    results.push((await pool.query(expandGrafanaSql(sql, ctx))).rows);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Drawing: Grafana's dark theme, 24-column grid, 30 px rows plus 8 px gaps as Grafana lays out
// ---------------------------------------------------------------------------------------------
const WIDTH = 1600;
const HEADER = 64;
const ROW_PX = 38;
const GAP = 8;
const BG = '#111217';
const PANEL_BG = '#181b1f';
const BORDER = '#2c3235';
const TEXT = '#ccccdc';
const MUTED = '#8e8e9a';
const GRID = '#2a2d33';
// Grafana's classic palette: its first eight are far enough apart for eight devices
const PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300'];
const NAMED: Record<string, string> = { red: '#f2495c', green: '#73bf69', orange: '#ff9830', yellow: '#fade2a', blue: '#5794f2' };
const FONT = 'DejaVu Sans, sans-serif';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x: number, y: number, s: string, size: number, fill = TEXT, anchor = 'start', weight = 'normal') =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" fill="${fill}" text-anchor="${anchor}" font-weight="${weight}">${esc(s)}</text>`;
const colour = (c: string) => NAMED[c] ?? c;

function thresholdColour(steps: Threshold[] | undefined, v: number): string | undefined {
  if (!steps) return undefined;
  let c: string | undefined;
  for (const s of steps) if (s.value === null || v >= s.value) c = s.color;
  return c && colour(c);
}

const UNIT_SUFFIX: Record<string, string> = { celsius: ' °C', percent: '%', humidity: '%', reqps: ' req/s' };
function formatValue(v: unknown, unit?: string, decimals?: number): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : NaN;
  if (isNaN(n)) return String(v);
  if (unit === 'short' && Math.abs(n) >= 1000) return `${(n / 1000).toFixed(Math.abs(n) >= 100_000 ? 0 : 1)} K`;
  const d = decimals ?? (Number.isInteger(n) ? 0 : Math.abs(n) < 10 ? 2 : 1);
  return n.toFixed(d) + (UNIT_SUFFIX[unit ?? ''] ?? '');
}

/** Round tick step (1, 2, 5 × 10^k) giving about `count` ticks over the span. */
function niceStep(span: number, count: number): number {
  const raw = span / count || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function timeSeries(panel: Panel, rows: Row[], b: Box, from: Date, to: Date): string {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const series = new Map<string, [number, number][]>();
  for (const r of rows) {
    const t = (r.time as Date).getTime();
    for (const [k, v] of Object.entries(r)) {
      if (k === 'time' || k === 'metric' || v === null) continue;
      // Grafana names a series by its metric column when the query has one
      const name = r.metric !== undefined ? String(r.metric) : k;
      if (!series.has(name)) series.set(name, []);
      series.get(name)!.push([t, Number(v)]);
    }
  }
  const values = [...series.values()].flat().map(([, v]) => v);
  let lo = defaults.min ?? Math.min(...values);
  let hi = defaults.max ?? Math.max(...values);
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const step = niceStep(hi - lo, 5);
  if (defaults.min === undefined) lo = Math.floor(lo / step) * step;
  if (defaults.max === undefined) hi = Math.ceil(hi / step) * step;
  const legendRows = Math.ceil(series.size / 6);
  const plot = { x: b.x + 64, y: b.y + 34, w: b.w - 76, h: b.h - 62 - legendRows * 16 };
  const px = (t: number) => plot.x + ((t - from.getTime()) / (to.getTime() - from.getTime())) * plot.w;
  const py = (v: number) => plot.y + plot.h - ((v - lo) / (hi - lo)) * plot.h;
  const out: string[] = [];
  if (defaults.custom?.thresholdsStyle?.mode === 'area') {
    const steps = defaults.thresholds?.steps ?? [];
    steps.forEach((s, i) => {
      if (s.color === 'transparent') return;
      const top = Math.min(hi, steps[i + 1]?.value ?? hi);
      const bottom = Math.max(lo, s.value ?? lo);
      out.push(
        `<rect x="${plot.x}" y="${py(top)}" width="${plot.w}" height="${py(bottom) - py(top)}" fill="${colour(s.color)}" fill-opacity="0.15"/>`,
      );
    });
  }
  for (let v = lo; v <= hi + step / 1e6; v += step) {
    out.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${py(v)}" y2="${py(v)}" stroke="${GRID}"/>`);
    out.push(
      text(
        plot.x - 6,
        py(v) + 4,
        formatValue(Number(v.toPrecision(10)), defaults.unit, Math.max(0, -Math.floor(Math.log10(step)))),
        11,
        MUTED,
        'end',
      ),
    );
  }
  const hour = 3_600_000;
  const tickEvery = (b.w < 700 ? 6 : 3) * hour;
  for (let t = Math.ceil(from.getTime() / tickEvery) * tickEvery; t <= to.getTime(); t += tickEvery) {
    out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="${GRID}"/>`);
    out.push(text(px(t), plot.y + plot.h + 15, new Date(t).toISOString().slice(11, 16), 11, MUTED, 'middle'));
  }
  [...series.entries()].forEach(([name, points], i) => {
    const c = PALETTE[i % PALETTE.length];
    const d = points
      .sort((a, z) => a[0] - z[0])
      .map(([t, v], j) => `${j ? 'L' : 'M'}${px(t).toFixed(1)},${py(v).toFixed(1)}`)
      .join('');
    out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.3" shape-rendering="crispEdges"/>`);
    const lx = b.x + 12 + (i % 6) * Math.min(150, (b.w - 24) / 6);
    const ly = plot.y + plot.h + 34 + Math.floor(i / 6) * 16;
    out.push(`<rect x="${lx}" y="${ly - 4}" width="12" height="3" fill="${c}"/>`, text(lx + 16, ly, name, 11));
  });
  return out.join('');
}

function stat(panel: Panel, rows: Row[], b: Box): string {
  const v = Number(Object.values(rows[0] ?? {})[0] ?? 0);
  const defaults = panel.fieldConfig?.defaults ?? {};
  const c = thresholdColour(defaults.thresholds?.steps, v);
  const background = panel.options?.colorMode === 'background' && c;
  return (
    (background ? `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="3" fill="${c}"/>` : '') +
    text(
      b.x + b.w / 2,
      b.y + b.h / 2 + 30,
      formatValue(v, defaults.unit === 'none' ? undefined : defaults.unit, 0),
      52,
      background ? '#fff' : (c ?? TEXT),
      'middle',
      'bold',
    )
  );
}

function table(panel: Panel, rows: Row[], b: Box): string {
  const cols = Object.keys(rows[0] ?? {});
  const fc = panel.fieldConfig ?? {};
  const prop = (col: string, id: string) =>
    fc.overrides?.find((o) => o.matcher.id === 'byName' && o.matcher.options === col)?.properties.find((p) => p.id === id)?.value;
  const cells = rows.map((r) =>
    cols.map((c) =>
      formatValue(r[c], prop(c, 'unit') as string | undefined, (prop(c, 'decimals') as number | undefined) ?? fc.defaults?.decimals),
    ),
  );
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)) + 2);
  const total = widths.reduce((a, w) => a + w, 0);
  const scale = (b.w - 16) / total;
  const lineH = 22;
  const fit = Math.floor((b.h - 44 - lineH) / lineH);
  const shown = cells.length > fit ? fit - 1 : cells.length;
  const out: string[] = [];
  let x = b.x + 8;
  const xs = widths.map((w) => ((x += w * scale), x - w * scale));
  const size = Math.min(12, (scale / 0.62) * 0.95);
  const clip = (s: string, w: number) =>
    s.length * size * 0.6 > w * scale - 6 ? s.slice(0, Math.max(1, Math.floor((w * scale - 6) / (size * 0.6)) - 1)) + '…' : s;
  cols.forEach((c, i) => out.push(text(xs[i] + 4, b.y + 50, clip(c, widths[i]), size, '#6e9fff', 'start', 'bold')));
  out.push(`<line x1="${b.x + 8}" x2="${b.x + b.w - 8}" y1="${b.y + 57}" y2="${b.y + 57}" stroke="${BORDER}"/>`);
  cells.slice(0, shown).forEach((r, j) => {
    const y = b.y + 50 + lineH * (j + 1);
    r.forEach((s, i) => {
      const steps = prop(cols[i], 'thresholds') as { steps: Threshold[] } | undefined;
      const bg =
        steps && (prop(cols[i], 'custom.cellOptions') as { type?: string } | undefined)?.type === 'color-background'
          ? thresholdColour(steps.steps, Number(rows[j][cols[i]]))
          : undefined;
      if (bg) out.push(`<rect x="${xs[i]}" y="${y - 15}" width="${widths[i] * scale - 2}" height="${lineH - 2}" fill="${bg}"/>`);
      out.push(text(xs[i] + 4, y, clip(s, widths[i]), size, bg ? '#fff' : TEXT));
    });
  });
  if (shown < cells.length)
    out.push(text(b.x + 12, b.y + 50 + lineH * (shown + 1), `… ${cells.length - shown} more rows (${cells.length} in all)`, 11, MUTED));
  if (cells.length === 0) out.push(text(b.x + b.w / 2, b.y + b.h / 2, 'No data', 14, MUTED, 'middle'));
  return out.join('');
}

function pie(rows: Row[], b: Box): string {
  const [labelCol, valueCol] = Object.keys(rows[0] ?? {});
  if (!valueCol) return text(b.x + b.w / 2, b.y + b.h / 2, 'No data', 14, MUTED, 'middle');
  const values = rows.map((r) => Number(r[valueCol]));
  const sum = values.reduce((a, v) => a + v, 0);
  const r = Math.min(b.h - 60, b.w / 2 - 40) / 2;
  const cx = b.x + 24 + r;
  const cy = b.y + 32 + (b.h - 32) / 2;
  const out: string[] = [];
  let a0 = -Math.PI / 2;
  rows.forEach((row, i) => {
    const a1 = a0 + (2 * Math.PI * values[i]) / sum;
    const c = PALETTE[i % PALETTE.length];
    const p = (a: number) => `${(cx + r * Math.cos(a)).toFixed(1)},${(cy + r * Math.sin(a)).toFixed(1)}`;
    out.push(
      rows.length === 1
        ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${c}"/>`
        : `<path d="M${cx},${cy}L${p(a0)}A${r},${r} 0 ${a1 - a0 > Math.PI ? 1 : 0} 1 ${p(a1)}Z" fill="${c}" stroke="${PANEL_BG}"/>`,
    );
    const ly = b.y + 70 + i * 22;
    out.push(
      `<rect x="${cx + r + 40}" y="${ly - 10}" width="12" height="12" fill="${c}"/>`,
      text(cx + r + 58, ly, String(row[labelCol]), 13),
      text(b.x + b.w - 16, ly, String(values[i]), 13, TEXT, 'end'),
    );
    a0 = a1;
  });
  out.push(
    text(cx + r + 40, b.y + 48, 'Name', 12, '#6e9fff', 'start', 'bold'),
    text(b.x + b.w - 16, b.y + 48, 'Value', 12, '#6e9fff', 'end', 'bold'),
  );
  return out.join('');
}

function horizontalBars(panel: Panel, rows: Row[], b: Box): string {
  const [labelCol, valueCol] = Object.keys(rows[0] ?? {});
  if (!valueCol) return text(b.x + b.w / 2, b.y + b.h / 2, 'No data', 14, MUTED, 'middle');
  const values = rows.map((r) => Number(r[valueCol]));
  const step = niceStep(Math.max(...values), 4);
  const hi = Math.ceil(Math.max(...values) / step) * step;
  const plot = { x: b.x + 92, y: b.y + 36, w: b.w - 110, h: b.h - 64 };
  const band = plot.h / rows.length;
  const out: string[] = [];
  for (let v = 0; v <= hi; v += step) {
    const x = plot.x + (v / hi) * plot.w;
    out.push(
      `<line x1="${x}" x2="${x}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="${GRID}"/>`,
      text(x, plot.y + plot.h + 15, formatValue(v, panel.fieldConfig?.defaults?.unit), 11, MUTED, 'middle'),
    );
  }
  rows.forEach((r, i) => {
    const y = plot.y + i * band;
    out.push(
      `<rect x="${plot.x}" y="${y + band * 0.1}" width="${(values[i] / hi) * plot.w}" height="${band * 0.8}" fill="${PALETTE[0]}" fill-opacity="0.8"/>`,
    );
    out.push(text(plot.x - 6, y + band / 2 + 4, String(r[labelCol]), Math.min(11, band * 0.9), MUTED, 'end'));
  });
  return out.join('');
}

function drawPanel(panel: Panel, rows: Row[], from: Date, to: Date): string {
  const colW = (WIDTH - GAP) / 24;
  const g = panel.gridPos;
  const b = { x: GAP + g.x * colW, y: HEADER + g.y * ROW_PX, w: g.w * colW - GAP, h: g.h * ROW_PX - GAP };
  const body =
    panel.type === 'timeseries'
      ? timeSeries(panel, rows, b, from, to)
      : panel.type === 'stat'
        ? stat(panel, rows, b)
        : panel.type === 'table'
          ? table(panel, rows, b)
          : panel.type === 'piechart'
            ? pie(rows, b)
            : panel.type === 'barchart'
              ? horizontalBars(panel, rows, b)
              : text(b.x + b.w / 2, b.y + b.h / 2, `(${panel.type} not drawn)`, 14, MUTED, 'middle');
  return `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="3" fill="${PANEL_BG}" stroke="${BORDER}"/>${body}${text(b.x + 10, b.y + 21, panel.title, 14, panel.type === 'stat' ? '#fff' : TEXT, 'start', 'bold')}`;
}

function drawDashboard(dashboard: Dashboard, results: Row[][], from: Date, to: Date, fleet: string): string {
  const height = HEADER + Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h)) * ROW_PX + GAP;
  const range = `${from.toISOString().slice(0, 16).replace('T', ' ')} – ${to.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return (
    // un-antialiased text: a PNG of a third the size (antialiased table text is most of the bytes), still legible
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="${FONT}" text-rendering="optimizeSpeed">` +
    `<rect width="100%" height="100%" fill="${BG}"/>` +
    text(GAP + 4, 28, dashboard.title, 20, TEXT, 'start', 'bold') +
    text(
      GAP + 4,
      50,
      `Last 24 hours (${range}) · device = All · ${fleet} · drawn by grafana/render.ts from the panels' SQL, not by Grafana`,
      12,
      MUTED,
    ) +
    dashboard.panels.map((p, i) => drawPanel(p, results[i], from, to)).join('') +
    `</svg>`
  );
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex >= 0 ? process.argv[outIndex + 1] : join(__dirname, 'rendered');
  mkdirSync(outDir, { recursive: true });
  const db = await createMigratedDatabase('grafana_render');
  try {
    const to = new Date();
    const from = new Date(to.getTime() - HOURS * 3_600_000);
    const counts = await fillFleet(db.pool, to.getTime());
    const fleet = `simulated fleet: ${DEVICES} devices, one reading a minute, ${counts.alerts} detector alerts, ${db.report.engine}`;
    process.stdout.write(`${counts.readings} readings, ${counts.alerts} alerts on ${db.report.engine}\n`);
    for (const file of DASHBOARDS) {
      const dashboard = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard;
      const svg = drawDashboard(dashboard, await runPanels(db.pool, dashboard, from, to), from, to, fleet);
      const png = join(outDir, file.replace(/\.json$/, '.png'));
      execFileSync('rsvg-convert', ['-f', 'png', '-o', png], { input: svg });
      process.stdout.write(`${png}\n`);
    }
  } finally {
    await db.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
