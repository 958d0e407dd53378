import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * Which top-level folder may import which, so the services stay separate and no test code
 * ships. The layers, bottom up:
 * - lib/: shared plumbing (config, logging, Kafka, Postgres); knows no service.
 * - schemas/ (the Kafka wire types) and db/ (the database schema and its migrations): the two
 *   contracts between services; they build on lib/ only.
 * - the services (bridge, writer, detector, simulator, analytics, notify): lib/ and the contracts,
 *   never another service, so each can change, be deployed and be tested on its own.
 * - cli/: the one entry point that wires the services into commands, so it may import any of
 *   the build.
 * Tests beside the code may also use testkit/; testkit/, bench/ and grafana/ may use anything
 * but test/ (whose files are only integration tests). A file in the build (tsconfig.build.json)
 * imports only files in the build, so dist/ needs no test helper.
 */
const CONTRACTS = ['lib', 'schemas', 'db'];
const SERVICES = ['bridge', 'writer', 'detector', 'simulator', 'analytics', 'notify'];
const MAY_IMPORT: Record<string, string[]> = {
  lib: ['lib'],
  schemas: ['lib', 'schemas'],
  db: ['lib', 'db'],
  ...Object.fromEntries(SERVICES.map((service) => [service, [...CONTRACTS, service]])),
  cli: [...CONTRACTS, ...SERVICES, 'cli'],
};
/** Folders of tooling around the build: they may import anything but test/. */
const TOOLING = ['testkit', 'bench', 'grafana'];

/** One import of one source file, both as paths relative to the repository root. */
export interface ImportEdge {
  from: string;
  to: string;
}

const topFolder = (path: string): string => path.split('/')[0];
const isTest = (path: string): boolean => path.endsWith('.test.ts');

/** Why `edge` breaks the layering, or undefined when it is allowed. */
export function layeringViolation(edge: ImportEdge, build: ReadonlySet<string>): string | undefined {
  const from = topFolder(edge.from);
  const to = topFolder(edge.to);
  if (build.has(edge.from) && !build.has(edge.to)) return `${edge.from} is built but imports ${edge.to}, which is not`;
  if (from === 'test') return undefined;
  if (TOOLING.includes(from)) return to === 'test' ? `${edge.from} imports ${edge.to}: shared helpers belong in testkit/` : undefined;
  const allowed = MAY_IMPORT[from];
  if (!allowed) return `${edge.from} is in a folder the layering does not know (${from}/): add it to testkit/layering.ts`;
  if (allowed.includes(to) || (isTest(edge.from) && to === 'testkit')) return undefined;
  return `${edge.from} imports ${edge.to}: ${from}/ may import only ${allowed.join(', ')}/${isTest(edge.from) ? ' and testkit/' : ''}`;
}

/** The file a relative specifier names, as TypeScript would find it, relative to `root`. */
function resolveSpecifier(root: string, fromFile: string, specifier: string): string {
  const base = resolve(root, dirname(fromFile), specifier);
  const candidates = [base, `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
  return relative(root, found).split(sep).join('/');
}

function sourceFiles(root: string, folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'));
}

/** Every relative import of every TypeScript file in the folders tsconfig.json type-checks. */
export function importEdges(root: string): ImportEdge[] {
  const folders: string[] = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config.include;
  return folders.flatMap((folder) =>
    sourceFiles(root, folder).flatMap((from) =>
      ts
        .preProcessFile(readFileSync(join(root, from), 'utf8'), true, true)
        .importedFiles.map((f) => f.fileName)
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => ({ from, to: resolveSpecifier(root, from, specifier) })),
    ),
  );
}

/** The files `npm run build` compiles (tsconfig.build.json), relative to `root`. */
export function buildFiles(root: string): Set<string> {
  const file = join(root, 'tsconfig.build.json');
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(file, ts.sys.readFile).config, ts.sys, root, undefined, file);
  return new Set(parsed.fileNames.map((f) => relative(root, f).split(sep).join('/')));
}
