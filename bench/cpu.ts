/**
 * CPU accounting for the end-to-end benchmark: every process of the pipeline and of the stack
 * it runs on, read from /proc before and after a step, turned into CPU microseconds per reading.
 *
 * Pure parts (parsing /proc/<pid>/stat, the per-reading table) are plain functions; the reads
 * are thin. A process's time is user + system; where its children count (PostgreSQL's
 * backends, which come and go) it is the parent's own time, the time of its children that
 * exited (cutime + cstime, reaped by the postmaster) and that of the children alive now.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ProcStat {
  pid: number;
  ppid: number;
  /** Clock ticks. */
  utime: number;
  stime: number;
  /** Of children that exited and were waited for. */
  cutime: number;
  cstime: number;
}

/** One line of /proc/<pid>/stat; the command (field 2) may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // After ") ": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17)
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const at = (field: number) => Number(f[field - 3]);
  return { pid, ppid: at(4), utime: at(14), stime: at(15), cutime: at(16), cstime: at(17) };
}

/** Ticks of `pid` and, with `family`, of its exited children and its live children (and theirs). */
export function familyTicks(pid: number, stats: readonly ProcStat[], family: boolean, except: readonly number[] = []): number {
  const own = stats.find((s) => s.pid === pid);
  if (!own) return Number.NaN;
  if (!family) return own.utime + own.stime;
  let total = own.utime + own.stime + own.cutime + own.cstime;
  for (const child of stats) if (child.ppid === pid && !except.includes(child.pid)) total += familyTicks(child.pid, stats, true, except);
  return total;
}

/**
 * A parent's own ticks and those of each of its live children (with theirs) that `keep`
 * accepts, by pid: a child that exits between two readings must drop out of both, not
 * leave a negative difference behind (see `cpuPerReading`).
 */
export function filteredFamilyTicks(
  pid: number,
  stats: readonly ProcStat[],
  keep: (cmdline: string) => boolean,
  except: readonly number[],
  cmdline = readCmdline,
): Map<number, number> | undefined {
  const own = stats.find((s) => s.pid === pid);
  if (!own) return undefined;
  const parts = new Map([[pid, own.utime + own.stime]]);
  for (const child of stats) {
    if (child.ppid !== pid || except.includes(child.pid) || !keep(cmdline(child.pid))) continue;
    parts.set(child.pid, familyTicks(child.pid, stats, true, except));
  }
  return parts;
}

/** Separates a process's name from a pid in the keys of `readCpu` for the parts of a filtered family. */
const PART = '\u0000';

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * PostgreSQL processes that work for `database`: its backends and autovacuum workers (their
 * process titles name it), and the server-wide writers (checkpointer, background writer, WAL
 * writer), which write for every database, ours included.
 */
export function postgresWorksFor(database: string): (cmdline: string) => boolean {
  const shared = /^postgres: (checkpointer|background writer|walwriter)\s*$/;
  return (cmdline) => shared.test(cmdline) || cmdline.split(' ').includes(database);
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // exited between the listing and the read
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** A process to account for: a name, its pid (looked up at each reading), whether its children count. */
export interface Accounted {
  name: string;
  pid: () => number | undefined;
  family?: boolean;
  /** Descendants left out (with their own descendants). */
  except?: () => number[];
  /**
   * With `family`: count only the live children whose command line passes (and not the
   * exited ones, whose owner is unknown): on a server shared with other work, only ours.
   */
  childFilter?: (cmdline: string) => boolean;
  /** Part of the measurement, not of the pipeline: shown, but not in the total. */
  measurement?: boolean;
}

/** CPU microseconds of each accounted process now (NaN where it is not running). */
export function readCpu(processes: readonly Accounted[]): Map<string, number> {
  const stats = allStats();
  const usPerTick = 1e6 / clockTicks();
  const out = new Map<string, number>();
  for (const p of processes) {
    const pid = p.pid();
    if (p.name === SELF) {
      const u = process.cpuUsage();
      out.set(p.name, (out.get(p.name) ?? 0) + u.user + u.system);
      continue;
    }
    if (pid !== undefined && p.family && p.childFilter) {
      const parts = filteredFamilyTicks(pid, stats, p.childFilter, p.except?.() ?? []);
      if (parts === undefined) out.set(p.name, Number.NaN);
      else for (const [part, ticks] of parts) out.set(`${p.name}${PART}${part}`, ticks * usPerTick);
      continue;
    }
    const ticks = pid === undefined ? Number.NaN : familyTicks(pid, stats, p.family ?? false, p.except?.() ?? []);
    out.set(p.name, (out.get(p.name) ?? 0) + ticks * usPerTick);
  }
  return out;
}

/** The benchmark process itself (the simulator runs in it), read through process.cpuUsage(). */
export const SELF = 'simulator (bench process)';

export interface CpuRow {
  name: string;
  /** Not counted in the total (see Accounted.measurement). */
  measurement?: boolean;
  /** CPU µs over the step. */
  us: number;
  perReading: number;
}

/** Per process and in total: CPU µs spent between two readings, per reading delivered. */
export function cpuPerReading(
  before: Map<string, number>,
  after: Map<string, number>,
  readings: number,
  measurement: ReadonlySet<string> = new Set(),
): { rows: CpuRow[]; total: number } {
  // The parts of a filtered family (name, NUL, pid): a part only in `after` started during the
  // step and counts whole; one only in `before` exited and counts nothing.
  const spent = new Map<string, number>();
  for (const [key, end] of after) {
    const cut = key.indexOf(PART);
    if (cut < 0) spent.set(key, end - (before.get(key) ?? Number.NaN));
    else {
      const name = key.slice(0, cut);
      spent.set(name, (spent.get(name) ?? 0) + end - (before.get(key) ?? 0));
    }
  }
  const rows: CpuRow[] = [];
  let total = 0;
  for (const [name, us] of spent) {
    const flag = measurement.has(name) ? { measurement: true } : {};
    if (!Number.isFinite(us)) {
      rows.push({ name, us: Number.NaN, perReading: Number.NaN, ...flag });
      continue;
    }
    if (!measurement.has(name)) total += us;
    rows.push({ name, us, perReading: readings > 0 ? us / readings : Number.NaN, ...flag });
  }
  return { rows, total: readings > 0 ? total / readings : Number.NaN };
}

/** Columns: one per step; rows: one per process, then the total and the sustained rate. */
export function cpuTable(columns: { title: string; rows: CpuRow[]; total: number; rate: number }[]): string {
  if (columns.length === 0) return '';
  const names = columns[0].rows.filter((r) => !r.measurement).map((r) => r.name);
  const apart = columns[0].rows.filter((r) => r.measurement).map((r) => r.name);
  const cell = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
  const line = (name: string) => [name, ...columns.map((c) => cell(c.rows.find((r) => r.name === name)?.perReading ?? Number.NaN))];
  const lines: string[][] = [
    ['CPU µs per reading', ...columns.map((c) => c.title)],
    ...names.map(line),
    ['total', ...columns.map((c) => cell(c.total))],
    ...apart.map((name) => [`(${name})`, ...line(name).slice(1)]),
    ['rows/s seen', ...columns.map((c) => c.rate.toFixed(0))],
  ];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')).join('\n');
}

/**
 * The native stack's folder: STACK_DIR, else the one PROMETHEUS_TARGETS_DIR of the stack's env
 * file lies in (<stack>/conf/prometheus/targets), else <repo>/.stack.
 */
export function stackDir(env: NodeJS.ProcessEnv = process.env, repoRoot = join(__dirname, '..')): string {
  if (env.STACK_DIR) return resolve(env.STACK_DIR);
  if (env.PROMETHEUS_TARGETS_DIR) return resolve(env.PROMETHEUS_TARGETS_DIR, '..', '..', '..');
  return join(repoRoot, '.stack');
}

function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0].trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The servers of the native stack, by their pid files (PostgreSQL: the postmaster and all its backends). */
export function stackProcesses(dir: string): Accounted[] {
  const run = join(dir, 'run');
  const kafkaFiles = existsSync(run)
    ? readdirSync(run)
        .filter((f) => /^kafka(-\d+)?\.pid$/.test(f))
        .sort()
    : [];
  return [
    { name: 'mosquitto', pid: () => pidFrom(join(run, 'mosquitto.pid')) },
    ...(kafkaFiles.length ? kafkaFiles : ['kafka.pid']).map((f) => ({ name: 'kafka', pid: () => pidFrom(join(run, f)) })),
    { name: 'registry', pid: () => pidFrom(join(run, 'registry.pid')) },
    { name: 'postgresql', pid: () => pidFrom(join(dir, 'data', 'postgres', 'postmaster.pid')), family: true },
    { name: 'prometheus', pid: () => pidFrom(join(run, 'prometheus.pid')) },
  ];
}
