import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile } from './stack';

const ROOT = join(__dirname, '..');

export interface NativePrometheus {
  url: string;
  /** its file_sd folder: <job>-*.json files there add scrape targets to that job */
  targetsDir: string;
  /** the config up.sh generated from deploy/native/templates/prometheus.yml */
  configFile: string;
}

/**
 * The native stack's Prometheus: PROMETHEUS_URL and PROMETHEUS_TARGETS_DIR from the
 * environment, else from the stack's env file (which up.sh, run by the global setup, writes).
 */
export function nativePrometheus(env: NodeJS.ProcessEnv = process.env): NativePrometheus {
  const envFile = join(env.STACK_DIR ?? join(ROOT, '.stack'), 'env');
  const file = existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
  const url = env.PROMETHEUS_URL ?? file.PROMETHEUS_URL;
  const targetsDir = env.PROMETHEUS_TARGETS_DIR ?? file.PROMETHEUS_TARGETS_DIR;
  if (!url || !targetsDir)
    throw new Error(`no PROMETHEUS_URL / PROMETHEUS_TARGETS_DIR in the environment or ${envFile}: run npm run stack:up`);
  return { url, targetsDir, configFile: join(targetsDir, '..', 'prometheus.yml') };
}

export interface ActiveTarget {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export async function activeTargets(url: string): Promise<ActiveTarget[]> {
  const res = await fetch(`${url}/api/v1/targets?state=active`);
  if (!res.ok) throw new Error(`${url}/api/v1/targets: HTTP ${res.status}`);
  return ((await res.json()) as { data: { activeTargets: ActiveTarget[] } }).data.activeTargets;
}

/** An instant query; each result's labels and value. */
export async function instantQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  if (!res.ok) throw new Error(`${query}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
