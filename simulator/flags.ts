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

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const values: Record<string, unknown> = {};
  const problems: { key: string; message: string }[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      problems.push({ key: arg, message: 'unexpected argument (flags start with --)' });
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byFlag.get(name);
    if (!spec) {
      problems.push({ key: `--${name}`, message: 'unknown flag (see --help)' });
      continue;
    }
    if (eq >= 0) {
      values[spec.path] = arg.slice(eq + 1);
    } else if (spec.boolean) {
      values[spec.path] = true;
    } else if (i + 1 < argv.length && !isFlag(argv[i + 1])) {
      values[spec.path] = argv[++i];
    } else {
      problems.push({ key: `--${name}`, message: 'needs a value' });
    }
  }
  return { values, problems, help };
}

/** A value may itself start with "-" (a negative number); only "--name" is taken as the next flag. */
function isFlag(token: string): boolean {
  return /^--[a-z]/.test(token);
}
