import { markdownText } from '../lib/config-doc';
import type { FlagSpec } from './flags';

/** `--help` text, built from the schema so it cannot fall behind the flags. */
export function usage(specs: readonly FlagSpec[]): string {
  const lines = ['Usage: iot-pipeline simulate [flags]', '', 'Simulates a fleet of IoT devices publishing telemetry over MQTT.', ''];
  const width = Math.max(...specs.map((s) => flagLabel(s).length));
  for (const s of specs) {
    const env = s.env ? ` [${s.env}]` : '';
    lines.push(`  ${flagLabel(s).padEnd(width)}  ${s.doc} (default: ${showDefault(s.default)})${env}`);
  }
  return lines.join('\n');
}

/** The README's configuration table (a unit test keeps the README in step with it). */
export function flagTable(specs: readonly FlagSpec[]): string {
  const rows = ['| flag | env | default | meaning |', '| --- | --- | --- | --- |'];
  for (const s of specs) {
    rows.push(`| \`${flagLabel(s)}\` | ${s.env ? `\`${s.env}\`` : ''} | \`${showDefault(s.default)}\` | ${markdownText(s.doc)} |`);
  }
  return rows.join('\n');
}

function flagLabel(s: FlagSpec): string {
  return s.boolean ? `--${s.flag}` : `--${s.flag} <v>`;
}

function showDefault(value: unknown): string {
  if (value === null) return 'unset';
  if (value === '') return '""';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
