import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/** One figure of a benchmark. `baseline` and `ratio` are set when it was measured against one in the same run. */
export interface Figure {
  metric: string;
  value: number;
  unit: string;
  /** The raw baseline's figure, same unit, measured in the same run. */
  baseline?: number;
  /** value / baseline: the figure that survives a noisy, shared machine. */
  ratio?: number;
  /** What we aim for, e.g. '<= 16'; `ok` says whether the value meets it. */
  target?: string;
  ok?: boolean;
}

export interface BenchResult {
  figures: Figure[];
  /** Parameters of the run (rows, devices, ...), written to the JSON. */
  params: Record<string, unknown>;
  /** Anything a reader needs to interpret the figures (method, caveats). */
  notes?: string[];
  /** Raw measurements (per-run samples etc.) for the JSON only. */
  detail?: unknown;
}

export type Flags = Record<string, string | boolean | undefined>;

export interface BenchContext {
  flags: Flags;
  progress: Progress;
}

export interface Benchmark {
  name: string;
  about: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** A numeric flag (`--rows 200000`), or its default. */
export function numberFlag(flags: Flags, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined || typeof v === 'boolean') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}

export function ratio(value: number, baseline: number): number {
  return baseline > 0 ? value / baseline : Number.NaN;
}

/**
 * One status line on stderr, rewritten in place on a terminal (a plain line every few
 * seconds otherwise, so logs stay readable), so a long phase never looks hung.
 */
export class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastPlainMs = 0;
  private lastText = '';
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private status: () => string = () => '';

  constructor(private readonly bench: string) {}

  /** A new phase; `status` is polled every second for a live figure (rows so far, ...). */
  phase(name: string, status: () => string = () => ''): void {
    this.status = () => `${name}${status() ? ` ${status()}` : ''}`;
    this.draw(true);
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.draw(false), 1000);
    this.timer.unref();
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.lastText) process.stderr.write('\r\x1b[K');
    this.lastText = '';
  }

  private draw(force: boolean): void {
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(0);
    const text = `[${this.bench} ${elapsed}s] ${this.status()}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${text.slice(0, (process.stderr.columns || 120) - 1)}`);
    } else if (force || Date.now() - this.lastPlainMs >= 5000) {
      process.stderr.write(`${text}\n`);
      this.lastPlainMs = Date.now();
    }
    this.lastText = text;
  }
}

/** The machine a figure came from: without it an absolute figure means little. */
export function machine(): Record<string, unknown> {
  let pgServer: string | undefined;
  try {
    pgServer = execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    pgServer = undefined;
  }
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model,
    memTotalGiB: +(totalmem() / 2 ** 30).toFixed(1),
    memFreeGiB: +(freemem() / 2 ** 30).toFixed(1),
    loadavg: loadavg().map((l) => +l.toFixed(2)),
    node: process.version,
    psqlClient: pgServer,
  };
}

function format(n: number | undefined): string {
  if (n === undefined) return '';
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** A plain-text (also valid Markdown) table of the figures. */
export function table(figures: readonly Figure[]): string {
  const head = ['metric', 'value', 'unit', 'baseline', 'ratio', 'target', 'ok'];
  const rows = figures.map((f) => [
    f.metric,
    format(f.value),
    f.unit,
    format(f.baseline),
    f.ratio === undefined ? '' : f.ratio.toFixed(3),
    f.target ?? '',
    f.ok === undefined ? '' : f.ok ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i === 2 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export const RESULTS_DIR = join(__dirname, 'results');

/** Writes bench/results/<name>.json (git-ignored) and returns its path. */
export function writeResult(name: string, result: BenchResult, startedAt: Date, seconds: number): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const body = { benchmark: name, startedAt: startedAt.toISOString(), seconds: +seconds.toFixed(1), machine: machine(), ...result };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Percentile by nearest rank over an unsorted sample. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}
