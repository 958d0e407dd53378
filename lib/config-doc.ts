/**
 * Renders a convict schema as the Markdown table a service README shows and as the service's
 * sample environment file (Telegraf's habit: the documentation of a setting is generated from
 * the code that reads it).
 */
interface Leaf {
  doc?: string;
  env?: string;
  default?: unknown;
  format?: unknown;
}

function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'default' in node;
}

function formatName(format: unknown): string {
  if (format === 'boolean-text') return 'boolean (true/false, 1/0)';
  if (typeof format === 'string') return format;
  if (format === String) return 'string';
  if (format === Number) return 'number';
  if (Array.isArray(format)) return format.join(' | ');
  return 'custom';
}

/** Table cells are Markdown: a bare <id> would be read as an HTML tag and vanish, a | would split the cell. */
export function markdownText(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Setting {
  key: string;
  leaf: Leaf & { sensitive?: boolean };
}

/** Every leaf of a schema with its dotted key, in schema order. */
function settings(schema: object, path: string[] = []): Setting[] {
  return Object.entries(schema).flatMap(([name, child]): Setting[] => {
    if (isLeaf(child)) return [{ key: [...path, name].join('.'), leaf: child }];
    return typeof child === 'object' && child !== null ? settings(child, [...path, name]) : [];
  });
}

export function configTable(schema: object): string {
  const rows: string[] = ['| key | env | default | format | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const { key, leaf } of settings(schema)) {
    const shown = leaf.sensitive ? '(secret)' : `\`${JSON.stringify(leaf.default)}\``;
    rows.push(
      `| ${key} | ${leaf.env ? `\`${leaf.env}\`` : ''} | ${shown} | ${markdownText(formatName(leaf.format))} | ${markdownText(leaf.doc ?? '')} |`,
    );
  }
  return rows.join('\n');
}

/** A default as the shell reads it back: bare when it is plain, else single-quoted. */
function shellValue(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return /^[\w.,:/@%+=-]*$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A service's sample environment file (Telegraf's sample config): every setting it reads,
 * commented out at its default, with its meaning above it. Secrets are left empty, with the
 * `<ENV>_FILE` alternative named; settings without a default (null) say they are unset.
 */
export function sampleEnv(schema: object, title: string): string {
  const lines = [
    `# ${title}`,
    '# Generated from the convict schema (npm run docs). Every setting at its default: uncomment what',
    '# you change. Use: set -a; . ./sample.env; set +a   (or an env_file in compose, a systemd EnvironmentFile)',
  ];
  for (const { key, leaf } of settings(schema)) {
    if (!leaf.env) continue;
    lines.push('', `# ${leaf.doc ?? key} [${key}, ${formatName(leaf.format)}]`);
    if (leaf.sensitive) {
      lines.push(`# secret: set it here, or name a file holding it in ${leaf.env}_FILE`, `#${leaf.env}=`);
    } else if (leaf.default === null) {
      lines.push(`# unset by default`, `#${leaf.env}=`);
    } else {
      lines.push(`#${leaf.env}=${shellValue(leaf.default)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const CONFIG_START = '<!-- config:start (generated from the convict schema: npm run docs) -->';
export const CONFIG_END = '<!-- config:end -->';

/** Replaces the generated block between the markers; returns the text unchanged if it has none. */
export function withConfigTable(readme: string, schema: object): string {
  return replaceBlock(readme, CONFIG_START, CONFIG_END, configTable(schema));
}

/** Replaces what lies between two marker lines (any generated block); unchanged without them. */
export function replaceBlock(text: string, start: string, end: string, body: string): string {
  const from = text.indexOf(start);
  const to = from < 0 ? -1 : text.indexOf(end, from);
  if (to < 0) return text;
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
}
