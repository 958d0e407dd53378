import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { RESULTS_DIR } from './report';

/**
 * Where a service's CPU time goes, from the .cpuprofile the preload writes when the process
 * exits (the format of `node --cpu-prof`): self time grouped by area (a dependency, a folder of ours, node's own
 * code, GC, idle) and the top functions. Enough to say what limits a stage without a viewer.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled wall time, ms (idle included). */
  totalMs: number;
  /** Busy share of the sampled time (not idle). */
  busyShare: number;
  /** Share of busy time per area, largest first. */
  areas: { area: string; share: number }[];
  /** Share of busy time of the heaviest functions (self time). */
  functions: { fn: string; share: number }[];
}

/** A fresh folder for one service's profile, under bench/results (git-ignored). */
export function profileDir(name: string): string {
  const dir = join(RESULTS_DIR, 'profiles', `${name}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Environment that makes a child service write its CPU profile into `dir` on exit (see cpu-profile-preload.cjs). */
export function cpuProfileEnv(dir: string): Record<string, string> {
  const preload = join(__dirname, 'cpu-profile-preload.cjs');
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(), BENCH_CPU_PROFILE_DIR: dir };
}

function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(program)') return '(program: native, unattributed)';
  if (!url) return `(native) ${functionName || 'anonymous'}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf(`node_modules${sep}`);
  if (nm >= 0) {
    const parts = path.slice(nm + 13).split(sep);
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const project = path.split(`${sep}main${sep}`)[1] ?? path;
  return project.split(sep).slice(0, -1).join('/') || project;
}

export function summariseProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    const area = areaOf(frame);
    if (area === '(idle)') {
      idle += us;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url ? `${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const busy = total - idle || 1;
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => ({ k, share: +(v / busy).toFixed(3) }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    busyShare: +((total - idle) / (total || 1)).toFixed(3),
    areas: rank(areas).map(({ k, share }) => ({ area: k, share })),
    functions: rank(fns).map(({ k, share }) => ({ fn: k, share })),
  };
}

/** The profile a process left in `dir` (one process per dir), summarised; undefined if none. */
export function summariseDir(dir: string): ProfileSummary | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  return file ? summariseProfile(join(dir, file)) : undefined;
}

/** Notes lines for the report: the top areas of a profile. */
export function profileNotes(label: string, summary: ProfileSummary | undefined): string[] {
  if (!summary) return [`${label}: no CPU profile written (did the process exit cleanly?)`];
  const areas = summary.areas
    .slice(0, 8)
    .map((a) => `${a.area} ${(a.share * 100).toFixed(0)}%`)
    .join(', ');
  const fns = summary.functions
    .slice(0, 6)
    .map((f) => `${f.fn} ${(f.share * 100).toFixed(1)}%`)
    .join('; ');
  return [
    `${label} CPU profile (${summary.file}): busy ${(summary.busyShare * 100).toFixed(0)}% of ${summary.totalMs} ms sampled; by area: ${areas}`,
    `${label} top functions (self): ${fns}`,
  ];
}
