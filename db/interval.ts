/**
 * The subset of PostgreSQL interval syntax that configuration accepts: one or more
 * "<number> <unit>" parts, e.g. '7 days', '1 day 12 hours', '90d', '2 weeks'.
 * Every accepted string is also valid PostgreSQL input (test/db-interval.test.ts checks that);
 * the bare 'm' is refused because PostgreSQL reads it as minutes, not months.
 */
const UNIT_SECONDS: Record<string, number> = {};
const units: [string[], number][] = [
  [['microsecond', 'microseconds', 'us', 'usec', 'usecs'], 1e-6],
  [['millisecond', 'milliseconds', 'ms', 'msec', 'msecs'], 1e-3],
  [['second', 'seconds', 'sec', 'secs', 's'], 1],
  [['minute', 'minutes', 'min', 'mins'], 60],
  [['hour', 'hours', 'hr', 'hrs', 'h'], 3600],
  [['day', 'days', 'd'], 86400],
  [['week', 'weeks', 'w'], 7 * 86400],
  // PostgreSQL's own conversion (extract(epoch from interval)): a month is 30 days, a year 365.25.
  [['month', 'months', 'mon', 'mons'], 30 * 86400],
  [['year', 'years', 'yr', 'yrs', 'y'], 365.25 * 86400],
];
for (const [names, seconds] of units) for (const name of names) UNIT_SECONDS[name] = seconds;

const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)/gy;

/** Seconds in `text` as PostgreSQL's extract(epoch) counts them, or undefined when the text is not accepted. */
export function intervalSeconds(text: string): number | undefined {
  const input = text.trim().toLowerCase();
  if (input === '') return undefined;
  let total = 0;
  let pos = 0;
  while (pos < input.length) {
    PART.lastIndex = pos;
    const m = PART.exec(input);
    if (!m) return undefined;
    const unit = UNIT_SECONDS[m[2]];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    pos = PART.lastIndex;
    while (pos < input.length && (input[pos] === ' ' || input[pos] === ',')) pos++;
  }
  return total;
}

/** Throws a message naming the expected form unless `text` is a positive interval. */
export function assertPositiveInterval(text: unknown): void {
  const seconds = typeof text === 'string' ? intervalSeconds(text) : undefined;
  if (seconds === undefined || !(seconds > 0)) {
    throw new Error("must be a positive PostgreSQL interval such as '7 days', '12 hours' or '1 day 6 hours'");
  }
}
