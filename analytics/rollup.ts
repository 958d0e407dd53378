import { intervalSeconds } from '../db/interval';
import { ROLLUPS } from '../db/migrate';
import { InvalidArgumentError } from './errors';

/**
 * Which relation a time series reads. The rollups are continuous aggregates on TimescaleDB
 * (db/migrations/0004_rollups.timescaledb.sql) and, on plain PostgreSQL, views over state tables
 * that a trigger keeps current in every inserting statement (0007_rollup_state.postgresql.sql).
 */
export type TelemetrySource = 'device_telemetry' | 'device_telemetry_1m' | 'device_telemetry_1h';
export type RollupView = Exclude<TelemetrySource, 'device_telemetry'>;

export interface BucketWidth {
  /** The interval as given, passed to the database as a parameter (`$1::interval`). */
  text: string;
  /** Its length as PostgreSQL counts it (a month is 30 days). */
  seconds: number;
}

/** The most buckets per device one time series may return: a typo like '1 second' over 30 days stops early. */
export const MAX_BUCKETS = 10_000;

const PARTS = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;
const MONTH_UNITS = new Set(['month', 'months', 'mon', 'mons', 'year', 'years', 'yr', 'yrs', 'y']);

/**
 * Checks a bucket width against db/interval.ts's strict interval grammar (every accepted text is
 * valid PostgreSQL input) and time_bucket's own rule: whole months or years, or a fixed length,
 * never both (TimescaleDB refuses '1 month 2 days').
 */
export function parseBucketWidth(text: string): BucketWidth {
  const seconds = intervalSeconds(text);
  if (seconds === undefined || !(seconds > 0)) {
    throw new InvalidArgumentError(
      'bucket',
      `must be a positive interval such as '5 minutes', '1 hour' or '1 day' (got ${JSON.stringify(text)})`,
    );
  }
  const parts = [...text.trim().toLowerCase().matchAll(PARTS)];
  const months = parts.filter((p) => MONTH_UNITS.has(p[2]));
  if (months.length > 0 && (months.length < parts.length || months.some((p) => !Number.isInteger(Number(p[1]))))) {
    throw new InvalidArgumentError('bucket', `must be whole months or years, or a fixed length, not a mix (got ${JSON.stringify(text)})`);
  }
  return { text: text.trim(), seconds };
}

/** Throws unless `hours` split into `width` buckets stays within MAX_BUCKETS. */
export function assertBucketCount(width: BucketWidth, hours: number): void {
  const buckets = Math.ceil((hours * 3600) / width.seconds);
  if (buckets > MAX_BUCKETS) {
    throw new InvalidArgumentError(
      'bucket',
      `'${width.text}' over ${hours} h makes ${buckets} buckets per device; at most ${MAX_BUCKETS}: choose a wider bucket`,
    );
  }
}

export interface RollupRule {
  view: RollupView;
  bucketSeconds: number;
  /** Read the rollup only for ranges longer than this. */
  minRangeHours: number;
}

const MIN_RANGE_HOURS: Record<RollupView, number> = { device_telemetry_1h: 1, device_telemetry_1m: 1 };

/** Coarsest first: the first rule that fits wins. */
export const ROLLUP_RULES: readonly RollupRule[] = [...ROLLUPS]
  .sort((a, b) => b.bucketSeconds - a.bucketSeconds)
  .map((r) => ({
    view: r.view,
    bucketSeconds: r.bucketSeconds,
    minRangeHours: MIN_RANGE_HOURS[r.view],
  }));

/** A rollup can serve a width only if each of its buckets lies inside one requested bucket. */
export function fitsRollup(width: BucketWidth, rule: RollupRule): boolean {
  return width.seconds % rule.bucketSeconds === 0;
}

/**
 * The rollup rule, the same on both engines: the coarsest rollup whose bucket divides the
 * requested width, if the range is longer than 1 h (shorter ones read few raw rows). Otherwise
 * the raw table.
 */
export function chooseSource(width: BucketWidth, hours: number): TelemetrySource {
  const rule = ROLLUP_RULES.find((r) => fitsRollup(width, r) && hours > r.minRangeHours);
  return rule ? rule.view : 'device_telemetry';
}

/** The rule of a rollup the caller asked for by name; refuses one that cannot serve the width. */
export function ruleFor(view: RollupView, width: BucketWidth): RollupRule {
  const rule = ROLLUP_RULES.find((r) => r.view === view) as RollupRule;
  if (!fitsRollup(width, rule)) {
    throw new InvalidArgumentError(
      'source',
      `${view} cannot serve buckets of '${width.text}': the width must be a multiple of ${rule.bucketSeconds} s`,
    );
  }
  return rule;
}
