import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Command-line flags, read from the convict schema (each key's `arg`), so a key, its flag, its
 * environment variable and its documentation are declared once. Pure: argv in, overrides out.
 */
export interface FlagSpec {
  flag: string;
  /** Config path, e.g. `fleet.deviceCount`. */
  path: string;
  /** Boolean flags take no value (`--no-wait`); `--flag=false` turns one off. */
  boolean: boolean;
  env?: string;
  doc: string;
  default: unknown;
}

interface SchemaLeaf {
  arg?: string;
  env?: string;
  doc?: string;
  format?: unknown;
  default?: unknown;
}

export function flagsOf(schema: object, prefix = ''): FlagSpec[] {
  const specs: FlagSpec[] = [];
  for (const [key, node] of Object.entries(schema)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (node && typeof node === 'object' && 'default' in node) {
      const leaf = node as SchemaLeaf;
      if (leaf.arg) {
        specs.push({
          flag: leaf.arg,
          path,
          boolean: leaf.format === 'boolean-text',
          env: leaf.env,
          doc: leaf.doc ?? '',
          default: leaf.default,
        });
      }
    } else if (node && typeof node === 'object') {
      specs.push(...flagsOf(node, path));
    }
  }
  return specs;
}

export interface ParsedFlags {
  /** Values by config path, as given (convict coerces them). */
  values: Record<string, unknown>;
  problems: { key: string; message: string }[];
  help: boolean;
}

/**
 * Reads argv with node:util's parseArgs, as the other commands do. Not strict: strict parsing
 * stops at the first bad flag, and a user should see every bad key at once.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const s of specs) options[s.flag] = { type: s.boolean ? 'boolean' : 'string' };
  const values: Record<string, unknown> = {};
  const problems: { key: string; message: string }[] = [];
  let help = false;
  let rest = [...argv];
  while (rest.length > 0) {
    const { tokens } = parseArgs({ args: rest, options, strict: false, allowPositionals: true, tokens: true });
    let resumeAt: number | undefined;
    for (const token of tokens) {
      if (token.kind === 'positional') {
        problems.push({ key: token.value, message: 'unexpected argument (flags start with --)' });
        continue;
      }
      if (token.kind !== 'option') continue;
      const spec = byFlag.get(token.name);
      if (token.name === 'help') {
        help = true;
      } else if (!spec) {
        problems.push({ key: token.rawName, message: 'unknown flag (see --help)' });
      } else if (spec.boolean) {
        values[spec.path] = token.value ?? true;
      } else if (token.value === undefined || (!token.inlineValue && isFlag(token.value))) {
        problems.push({ key: token.rawName, message: 'needs a value' });
        // parseArgs took the next flag as this one's value; read on from that flag.
        if (token.value !== undefined) {
          resumeAt = token.index + 1;
          break;
        }
      } else {
        values[spec.path] = token.value;
      }
    }
    rest = resumeAt === undefined ? [] : rest.slice(resumeAt);
  }
  return { values, problems, help };
}

/** A value may itself start with "-" (a negative number); only "--name" is taken as the next flag. */
function isFlag(token: string): boolean {
  return /^--[a-z]/.test(token);
}
