import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIMULATOR_FLAGS } from './options';
import { flagTable } from './usage';

describe('README', () => {
  it('shows the flag table generated from the schema', () => {
    const readme = readFileSync(join(__dirname, 'README.md'), 'utf8');
    const block = /<!-- flags:start -->\n([\s\S]*?)\n<!-- flags:end -->/.exec(readme);
    expect(block?.[1]).toBe(flagTable(SIMULATOR_FLAGS));
  });
});
