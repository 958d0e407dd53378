import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../lib/config';
import { sampleEnv } from '../lib/config-doc';
import { generatedBlocks, ROOT, SAMPLE_ENVS } from './docs';

describe('generated README tables', () => {
  it.each(generatedBlocks().map((b) => [b.readme, b] as const))(
    '%s shows its table as the schema generates it (npm run docs)',
    (_, block) => {
      const readme = readFileSync(join(ROOT, block.readme), 'utf8');
      const from = readme.indexOf(block.start);
      const to = readme.indexOf(block.end, from);
      expect(from).toBeGreaterThanOrEqual(0);
      expect(to).toBeGreaterThan(from);
      expect(readme.slice(from + block.start.length, to)).toBe(`\n${block.body}\n`);
    },
  );
});

describe('sample.env files', () => {
  const samples = Object.entries(SAMPLE_ENVS);

  it.each(samples)('%s is as the schema generates it (npm run docs)', (file, { title, schema }) => {
    expect(readFileSync(join(ROOT, file), 'utf8')).toBe(sampleEnv(schema, title));
  });

  // Each default written there must read back, through the shell and convict, as itself.
  it.each(samples)('%s, every assignment uncommented and sourced by bash, loads as the defaults', (file, { schema }) => {
    const assignments = readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => /^#[A-Z][A-Z0-9_]*=./.test(line))
      .map((line) => line.slice(1));
    expect(assignments.length).toBeGreaterThan(5);
    const script = `set -a\n${assignments.join('\n')}\nset +a\nnode -e 'process.stdout.write(JSON.stringify(process.env))'`;
    const sourced = JSON.parse(
      execFileSync('bash', ['-c', script], { env: { PATH: process.env.PATH }, encoding: 'utf8' }),
    ) as NodeJS.ProcessEnv;
    expect(loadConfig(schema, {}, sourced)).toEqual(loadConfig(schema, {}, {}));
  });
});
