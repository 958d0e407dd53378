/**
 * Benchmarks measure the compiled dist/ that the Docker image runs, not the TypeScript loader:
 * before spawning a service they check that every source file the build compiles has an
 * output at least as new, and refuse to run otherwise (`npm run build` first).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildFiles } from '../testkit/layering';
import { ServiceProcess } from '../testkit/service-process';

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

export function buildPairs(root: string): BuildPair[] {
  // the files tsconfig.build.json compiles, as TypeScript lists them
  return [...buildFiles(root)]
    .filter((source) => !source.endsWith('.d.ts'))
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
