import { join } from 'node:path';
import { buildFiles, importEdges, layeringViolation } from './layering';

const ROOT = join(__dirname, '..');

describe('the layering of the source tree', () => {
  const build = buildFiles(ROOT);
  const edges = importEdges(ROOT);

  it('reads the build and the imports (an empty scan would pass anything)', () => {
    expect(build.has('cli/index.ts')).toBe(true);
    expect(build.has('testkit/kafka.ts')).toBe(false);
    expect([...build].some((f) => f.endsWith('.test.ts'))).toBe(false);
    expect(edges).toContainEqual({ from: 'cli/index.ts', to: 'bridge/index.ts' });
    expect(edges.length).toBeGreaterThan(300);
  });

  it('holds for every import in the repository', () => {
    const violations = edges.map((edge) => layeringViolation(edge, build)).filter(Boolean);
    expect(violations).toEqual([]);
  });
});

describe('layeringViolation', () => {
  const build = new Set([
    'lib/config.ts',
    'bridge/config.ts',
    'writer/config.ts',
    'bridge/index.ts',
    'detector/service.ts',
    'simulator/fleet.ts',
    'db/migrate.ts',
    'cli/index.ts',
    'schemas/index.ts',
  ]);

  it.each([
    [
      'a service imports another service',
      'detector/service.ts',
      'simulator/fleet.ts',
      /detector\/ may import only lib, schemas, db, detector\//,
    ],
    ['a service test imports another service', 'detector/x.test.ts', 'simulator/fleet.ts', /detector\/ may import only .* and testkit\//],
    ['lib imports a service', 'lib/config.ts', 'bridge/config.ts', /lib\/ may import only lib\//],
    ['a lib test imports a service config', 'lib/log.test.ts', 'bridge/config.ts', /lib\/ may import only lib\//],
    ['a built file imports the test kit', 'bridge/index.ts', 'testkit/kafka.ts', /is built but imports testkit\/kafka.ts/],
    ['a built file imports an integration test file', 'cli/index.ts', 'test/global-setup.ts', /is built but imports/],
    ['a built file imports a file left out of the build', 'db/migrate.ts', 'db/fixtures.ts', /is built but imports db\/fixtures.ts/],
    ['the contract db/ imports a service', 'db/migrate.ts', 'writer/config.ts', /db\/ may import only lib, db\//],
    ['a benchmark imports test/', 'bench/writer.ts', 'test/writer.test.ts', /shared helpers belong in testkit/],
    ['a folder nobody placed', 'tools/x.ts', 'lib/config.ts', /does not know \(tools\/\)/],
  ])('fails when %s', (_case, from, to, reason) => {
    expect(layeringViolation({ from, to }, build)).toMatch(reason);
  });

  it.each([
    ['cli wires the services', 'cli/index.ts', 'bridge/index.ts'],
    ['a service uses lib and the contracts', 'detector/service.ts', 'schemas/index.ts'],
    ['a service test uses the test kit', 'bridge/hostile.test.ts', 'testkit/hostile-payloads.ts'],
    ['the test kit drives a service', 'testkit/evaluation.ts', 'simulator/fleet.ts'],
    ['an integration test uses anything', 'test/writer.test.ts', 'testkit/pg.ts'],
  ])('allows it when %s', (_case, from, to) => {
    expect(layeringViolation({ from, to }, build)).toBeUndefined();
  });
});
