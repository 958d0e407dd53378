import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * `npm run lint` enforces the layering (eslint.config.ts runs testkit/layering.ts as a rule):
 * ESLint itself, on source text placed in the tree, reports an import that breaks it and passes
 * one that keeps it.
 */
const root = join(__dirname, '..');

/** ESLint as `npm run lint` runs it (its own process: the TypeScript config loads through jiti). */
async function layeringMessages(file: string, code: string): Promise<string[]> {
  const run = spawnSync(join(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', file, '--format', 'json'], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return result.messages.filter((m) => m.ruleId === 'layering/allowed-imports').map((m) => m.message);
}

describe('npm run lint: the layering rule', () => {
  it('fails a service that imports another service', async () => {
    const messages = await layeringMessages(
      'detector/lint-fixture.ts',
      "import { generateFleet } from '../simulator/fleet';\nexport const f = generateFleet;\n",
    );
    expect(messages).toEqual([expect.stringMatching(/detector\/lint-fixture.ts imports simulator\/fleet.ts: detector\/ may import only/)]);
  });

  it('fails lib importing a service, and built code importing the test kit', async () => {
    expect(await layeringMessages('lib/lint-fixture.ts', "export { bridgeSchema } from '../bridge/config';\n")).toHaveLength(1);
    expect(
      await layeringMessages('bridge/lint-fixture.ts', "import { waitUntil } from '../testkit/wait';\nexport const w = waitUntil;\n"),
    ).toHaveLength(1);
  });

  it('passes imports that keep it', async () => {
    expect(
      await layeringMessages('detector/lint-fixture.ts', "import { loadConfig } from '../lib/config';\nexport const l = loadConfig;\n"),
    ).toEqual([]);
    expect(
      await layeringMessages(
        'detector/lint-fixture.test.ts',
        "import { waitUntil } from '../testkit/wait';\nexport const w = waitUntil;\n",
      ),
    ).toEqual([]);
  });
});
