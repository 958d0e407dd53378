import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBlocks, ROOT } from './docs';

describe('generated README tables', () => {
  it.each(generatedBlocks().map((b) => [b.readme, b] as const))('%s shows its table as the schema generates it (npm run docs)', (_, block) => {
    const readme = readFileSync(join(ROOT, block.readme), 'utf8');
    const from = readme.indexOf(block.start);
    const to = readme.indexOf(block.end, from);
    expect(from).toBeGreaterThanOrEqual(0);
    expect(to).toBeGreaterThan(from);
    expect(readme.slice(from + block.start.length, to)).toBe(`\n${block.body}\n`);
  });
});
