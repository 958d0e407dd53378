import { ConfigError } from '../lib/errors';

/** A half-open span of Kafka time, [fromMs, toMs), in epoch milliseconds. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * One `--from`/`--to` value: an ISO 8601 instant (`2026-12-01T10:00:00Z`; a date alone is
 * midnight UTC), epoch milliseconds (13 digits or fewer), `now`, or a duration before `nowMs`
 * (`90m`, `2h`, `7d`, `1h30m`): what an operator types after a bad restore at 10:30 is
 * "from 2h to 30m". Returns NaN when the text is none of these.
 */
export function parseInstant(text: string, nowMs: number): number {
  const input = text.trim();
  if (input === 'now') return nowMs;
  if (/^\d{1,13}$/.test(input)) return Number(input);
  const ago = /^(?:\d+[smhdw])+$/.test(input) ? [...input.matchAll(/(\d+)([smhdw])/g)] : [];
  if (ago.length > 0) return nowMs - ago.reduce((ms, [, n, unit]) => ms + Number(n) * UNIT_MS[unit], 0);
  // Date.parse reads a zone-less date-time as local time; only explicit instants are accepted.
  if (/^\d{4}-\d\d-\d\d$/.test(input) || /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)$/i.test(input)) return Date.parse(input);
  return Number.NaN;
}

const FORMS = 'an ISO 8601 instant (2026-12-01T10:00:00Z), epoch milliseconds, "now", or a duration ago (90m, 2h, 7d)';

/**
 * `--from` (required) and `--to` (default: now) as a range; a missing, unreadable, empty or
 * future-starting range is the operator's mistake, reported as a ConfigError naming the flag.
 */
export function parseTimeRange(from: string | undefined, to: string | undefined, nowMs: number): TimeRange {
  const problems: { key: string; message: string }[] = [];
  const fromMs = from === undefined ? Number.NaN : parseInstant(from, nowMs);
  const toMs = to === undefined ? nowMs : parseInstant(to, nowMs);
  if (from === undefined) problems.push({ key: '--from', message: `is required: ${FORMS}` });
  else if (Number.isNaN(fromMs)) problems.push({ key: '--from', message: `cannot read "${from}": use ${FORMS}` });
  if (Number.isNaN(toMs)) problems.push({ key: '--to', message: `cannot read "${to}": use ${FORMS}` });
  if (problems.length === 0 && toMs <= fromMs) {
    problems.push({ key: '--to', message: `${iso(toMs)} is not after --from ${iso(fromMs)}` });
  }
  if (problems.length === 0 && fromMs > nowMs) problems.push({ key: '--from', message: `${iso(fromMs)} is in the future` });
  if (problems.length > 0) throw new ConfigError(problems);
  return { fromMs, toMs };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
