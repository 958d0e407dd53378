/**
 * PostgreSQL COPY text format: columns separated by tab, rows by newline, NULL as \N,
 * and backslash, tab, newline and carriage return escaped inside values.
 */
const NEEDS_ESCAPE = /[\\\t\n\r]/;

export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export function copyNumber(value: number | null): string {
  // Numbers from Avro doubles are finite (validated at the bridge); keep full precision.
  return value === null ? '\\N' : String(value);
}
