/**
 * Benchmarks measure the compiled dist/ that the Docker image runs, not the TypeScript loader:
 * before spawning a service they check that every source file the build compiles has an
 * output at least as new, and refuse to run otherwise (`npm run build` first).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ServiceProcess } from '../testkit/service-process';

interface TsConfig {
  extends?: string;
  include?: string[];
  exclude?: string[];
}

/**
 * The folders the build compiles: tsconfig.build.json's `include` (or that of the config it
 * extends), less its `exclude` entries without wildcards (the `*.test.ts` pattern is applied
 * by name below).
 */
function builtFolders(root: string): string[] {
  const read = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as TsConfig;
  const build = read('tsconfig.build.json');
  const include = build.include ?? (build.extends ? read(build.extends).include : undefined) ?? ['.'];
  const excluded = new Set((build.exclude ?? []).filter((e) => !e.includes('*')));
  return include.filter((folder) => !excluded.has(folder) && existsSync(join(root, folder)));
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

function sources(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.')) out.push(...sources(root, join(dir, entry.name)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(relative(root, join(dir, entry.name)));
    }
  }
  return out;
}

export function buildPairs(root: string): BuildPair[] {
  return builtFolders(root)
    .flatMap((folder) => sources(root, join(root, folder)))
    .map((source) => {
      const output = join(root, 'dist', source.replace(/\.ts$/, '.js'));
      return {
        source,
        sourceMs: statSync(join(root, source)).mtimeMs,
        outputMs: existsSync(output) ? statSync(output).mtimeMs : undefined,
      };
    });
}

/** Makes every ServiceProcess of this run start from dist/; throws, saying what to do, when dist/ is not fresh. */
export function useCompiledServices(root = join(__dirname, '..')): void {
  const problem = distProblem(buildPairs(root));
  if (problem !== undefined) throw new Error(`${problem}: benchmarks run the compiled services; run \`npm run build\` first`);
  ServiceProcess.compiled = true;
}
