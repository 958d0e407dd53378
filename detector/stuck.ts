/**
 * Stuck sensors: a temperature or humidity that repeats one value, exactly, for `readings`
 * readings in a row while its window shows the metric normally moves (the baseline's spread
 * above the metric's floor), is reported once, at the reading that completes the run. A
 * z-score cannot see this: the value sits inside the normal range. A flat or quantised series
 * has a spread at or below its floor and is left alone; batteries are not watched at all (a
 * gauge holding its level, full or on mains, is normal).
 *
 * The run must fit in one window length, so the decision depends only on the last `readings`
 * readings and the window: a restarted detector that replays recent history makes it the same
 * way. A run that started before the replay reached is seen from its middle, completes inside
 * the replay (within one window), and stays silent there, as it did live.
 */
export class StuckRun {
  value = Number.NaN;
  length = 0;
  sinceUs = Number.NEGATIVE_INFINITY;
}

export interface StuckRule {
  /** Identical readings in a row that make a stuck sensor; 0 turns the rule off. */
  readings: number;
  /** Longest span, in µs, the run may take (the window length). */
  maxSpanUs: number;
}

/** Feeds one in-order value; true when it completes a run (the caller checks the spread). */
export function observeStuck(run: StuckRun, timeUs: number, value: number, rule: StuckRule): boolean {
  if (value === run.value) {
    run.length++;
  } else {
    run.value = value;
    run.length = 1;
    run.sinceUs = timeUs;
  }
  return rule.readings > 0 && run.length === rule.readings && timeUs - run.sinceUs <= rule.maxSpanUs;
}
