/**
 * Renders a convict schema as the Markdown table a service README shows (Telegraf's habit:
 * the documentation of a setting is generated from the code that reads it).
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
  if (typeof format === 'string') return format;
  if (format === String) return 'string';
  if (format === Number) return 'number';
  if (format === Boolean) return 'boolean';
  if (Array.isArray(format)) return format.join(' \\| ');
  return 'custom';
}

/** Table cells are Markdown: a bare <id> would be read as an HTML tag and vanish, a | would split the cell. */
function markdownText(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function configTable(schema: object): string {
  const rows: string[] = ['| key | env | default | format | meaning |', '| --- | --- | --- | --- | --- |'];
  const walk = (node: object, path: string[]) => {
    for (const [name, child] of Object.entries(node)) {
      if (isLeaf(child)) {
        const shown = (child as { sensitive?: boolean }).sensitive ? '(secret)' : `\`${JSON.stringify(child.default)}\``;
        rows.push(`| ${[...path, name].join('.')} | ${child.env ? `\`${child.env}\`` : ''} | ${shown} | ${formatName(child.format)} | ${markdownText(child.doc ?? '')} |`);
      } else if (typeof child === 'object' && child !== null) {
        walk(child, [...path, name]);
      }
    }
  };
  walk(schema, []);
  return rows.join('\n');
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
