import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENDPOINT_KEYS, parseEnvFile } from '../testkit/stack';
import { bridgeBench } from './bridge';
import { dbTriggerBench } from './db-trigger';
import { detectorBench } from './detector';
import { useCompiledServices } from './dist';
import { endToEndBench } from './e2e';
import { Benchmark, Flags, Progress, table, writeResult } from './report';
import { queriesBench } from './queries';
import { storageBench } from './storage';
import { writerBench } from './writer';

/** In priority order; `npm run bench` runs them all, `npm run bench -- <name> [--flag v]` one. */
const BENCHMARKS: Benchmark[] = [writerBench, bridgeBench, detectorBench, storageBench, queriesBench, endToEndBench, dbTriggerBench];

/**
 * The benchmarks talk to an already running stack. Endpoints come from the environment or,
 * when it names none, from the native stack's .stack/env (read only: the runner never
 * starts or stops the stack).
 */
function loadEndpoints(): void {
  if (ENDPOINT_KEYS.every((k) => process.env[k])) return;
  const file = join(__dirname, '..', '.stack', 'env');
  if (!existsSync(file)) return;
  for (const [k, v] of Object.entries(parseEnvFile(readFileSync(file, 'utf8')))) process.env[k] ??= v;
}

function usage(): string {
  const width = Math.max(...BENCHMARKS.map((b) => b.name.length));
  return [
    'usage: npm run bench [-- <name>...] [--flag value ...]',
    '',
    ...BENCHMARKS.map((b) => `  ${b.name.padEnd(width)}  ${b.about}`),
  ].join('\n');
}

/** Flags that take no value; every other `--name` takes the next word (or `--name=value`). */
const SWITCHES = new Set(['help', 'profile', 'no-kafka']);

function parse(argv: string[]): { values: Flags; positionals: string[] } {
  const values: Flags = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) positionals.push(argv[i]);
    else if (m[2] !== undefined) values[m[1]] = m[2];
    else if (SWITCHES.has(m[1]) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) values[m[1]] = true;
    else values[m[1]] = argv[++i];
  }
  return { values, positionals };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(usage());
    return;
  }
  const unknown = positionals.filter((p) => !BENCHMARKS.some((b) => b.name === p));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')}\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  loadEndpoints();
  try {
    useCompiledServices();
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
    return;
  }
  const selected = positionals.length ? BENCHMARKS.filter((b) => positionals.includes(b.name)) : BENCHMARKS;
  let failed = 0;
  for (const bench of selected) {
    const progress = new Progress(bench.name);
    const startedAt = new Date();
    console.log(`\n## ${bench.name}: ${bench.about}`);
    try {
      const result = await bench.run({ flags: values, progress });
      progress.done();
      const seconds = (Date.now() - startedAt.getTime()) / 1000;
      console.log(`params: ${JSON.stringify(result.params)}`);
      console.log(table(result.figures));
      for (const note of result.notes ?? []) console.log(`- ${note}`);
      console.log(`(${seconds.toFixed(0)} s; figures in ${writeResult(bench.name, result, startedAt, seconds)})`);
    } catch (err) {
      progress.done();
      failed++;
      console.error(`${bench.name} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

void main(process.argv.slice(2)).then(
  // Clients (KafkaJS, pg pools) are closed by each benchmark; exit anyway so a stray timer never holds the run.
  () => process.exit(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
