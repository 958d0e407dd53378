/**
 * Benchmarks measure the compiled dist/ that the Docker image runs, not the TypeScript loader:
 * before spawning a service they check that every source file the build compiles has an
 * output at least as new, and refuse to run otherwise (`npm run build` first).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ServiceProcess } from '../testkit/service-process';

/** The folders tsconfig.build.json leaves out (its `exclude` entries without wildcards). */
function notBuilt(root: string): Set<string> {
  const config = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { exclude?: string[] };
  return new Set((config.exclude ?? []).filter((e) => !e.includes('*')));
}

export interface BuildPair {
  source: string;
  sourceMs: number;
  /** Undefined when the output is missing. */
  outputMs: number | undefined;
}

/** What is wrong with dist/, in words, or undefined when it is fresh. */
export function distProblem(pairs: readonly BuildPair[]): string | undefined {
  if (pairs.length === 0) return 'no source files found to compare with dist/';
  const missing = pairs.filter((p) => p.outputMs === undefined);
  if (missing.length === pairs.length) return 'dist/ is missing';
  if (missing.length > 0)
    return `dist/ lacks the output of ${missing
      .slice(0, 3)
      .map((p) => p.source)
      .join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`;
  const stale = pairs.filter((p) => (p.outputMs as number) < p.sourceMs);
  if (stale.length > 0)
    return `dist/ is stale: ${stale
      .slice(0, 3)
      .map((p) => p.source)
      .join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''} changed after it was built`;
  return undefined;
}

function sources(root: string, skip: Set<string>, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skip.has(relative(root, join(dir, entry.name))) && !entry.name.startsWith('.'))
        out.push(...sources(root, skip, join(dir, entry.name)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(relative(root, join(dir, entry.name)));
    }
  }
  return out;
}

export function buildPairs(root: string): BuildPair[] {
  return sources(root, notBuilt(root)).map((source) => {
    const output = join(root, 'dist', source.replace(/\.ts$/, '.js'));
    return { source, sourceMs: statSync(join(root, source)).mtimeMs, outputMs: existsSync(output) ? statSync(output).mtimeMs : undefined };
  });
}

/** Makes every ServiceProcess of this run start from dist/; throws, saying what to do, when dist/ is not fresh. */
export function useCompiledServices(root = join(__dirname, '..')): void {
  const problem = distProblem(buildPairs(root));
  if (problem !== undefined) throw new Error(`${problem}: benchmarks run the compiled services; run \`npm run build\` first`);
  ServiceProcess.compiled = true;
}
