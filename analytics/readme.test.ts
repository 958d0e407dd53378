import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_START, withConfigTable } from '../lib/config-doc';
import { analyticsConfigSchema } from './config';

describe('README', () => {
  it('shows the settings table generated from the schema', () => {
    const readme = readFileSync(join(__dirname, 'README.md'), 'utf8');
    expect(readme).toContain(CONFIG_START);
    expect(withConfigTable(readme, analyticsConfigSchema)).toBe(readme);
  });
});
