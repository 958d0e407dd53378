import type { Prediction, SlidingWindow, WindowSums } from './window';

/**
 * Z-score rule for one metric. A new reading is scored against the window *before* it
 * joins, using the window's baseline (samples that were not outliers on arrival).
 *
 * The score is trend-aware: z = (x − x̂) / max(s, minStddev), where x̂ is the value the
 * baseline's least-squares line expects at the reading's time and s the standard error
 * of a new observation there. Against a plain mean, a signal that moves (temperature
 * over the day, a draining battery) reads as biased: the mean lags by half a window of
 * movement, which both fires false alerts with the trend and hides spikes against it.
 * For a flat signal the line is flat and x̂ is the mean.
 *
 * Whether the reading then joins the baseline is decided against *all* samples in the
 * window, not the baseline: an outlier there stays out of the baseline, so one spike
 * cannot widen the spread that judges the next readings (no masking), while a lasting
 * level shift soon stops being an outlier against all samples and the baseline follows
 * it within one window length. Deciding membership from `all` keeps the state a
 * function of the last two window lengths of readings, so a replaying detector rebuilds
 * it exactly; deciding it from the baseline itself would chain back indefinitely.
 */
export interface ZScoreRule {
  zThreshold: number;
  minSamples: number;
  minStddev: number;
}

/** Result of scoring one value; a scratch object reused on the hot path. */
export interface Score extends Prediction {
  z: number;
  /** Baseline samples the score was computed from. */
  samples: number;
}

/** Scores `value` at `timeUs` against `sums`; false (and `out` stale) when there are too few samples. */
export function scoreAgainst(sums: WindowSums, timeUs: number, value: number, rule: ZScoreRule, out: Score): boolean {
  if (sums.count < rule.minSamples || !sums.predict(timeUs, out)) return false;
  const sd = out.stddev > rule.minStddev ? out.stddev : rule.minStddev;
  out.z = (value - out.value) / sd;
  out.samples = sums.count;
  return true;
}

/** Outcome of one observation: constants, so the hot path allocates nothing. */
export interface Observation {
  readonly anomaly: boolean;
  /** Kept out of the baseline as an outlier. */
  readonly keptOut: boolean;
}
const ANOMALY_KEPT_OUT: Observation = Object.freeze({ anomaly: true, keptOut: true });
const NORMAL_KEPT_OUT: Observation = Object.freeze({ anomaly: false, keptOut: true });
const ANOMALY_JOINED: Observation = Object.freeze({ anomaly: true, keptOut: false });
const NORMAL_JOINED: Observation = Object.freeze({ anomaly: false, keptOut: false });

/**
 * Slides the window to the reading, scores it against the baseline, then adds it.
 * On an anomaly the details are in `out`. The caller guarantees time order.
 */
export function observeMetric(
  window: SlidingWindow,
  timeUs: number,
  value: number,
  rule: ZScoreRule,
  out: Score,
  scratch: Score,
): Observation {
  window.slideTo(timeUs);
  const anomaly = scoreAgainst(window.baseline, timeUs, value, rule, out) && Math.abs(out.z) > rule.zThreshold;
  // Too few samples in the whole window: nothing can be called an outlier yet.
  const keptOut = scoreAgainst(window.all, timeUs, value, rule, scratch) && Math.abs(scratch.z) > rule.zThreshold;
  window.push(timeUs, value, !keptOut);
  return keptOut ? (anomaly ? ANOMALY_KEPT_OUT : NORMAL_KEPT_OUT) : anomaly ? ANOMALY_JOINED : NORMAL_JOINED;
}

/**
 * Late-reading policy "score": the value is checked against the window as of the
 * device's newest reading (what a live reading would be judged by; the line is read at
 * the late reading's own time) and never added, so it cannot disorder or skew the
 * window. Only readings inside that window's span are judged.
 */
export function scoreLate(window: SlidingWindow, newestUs: number, timeUs: number, value: number, rule: ZScoreRule, out: Score): boolean {
  window.slideTo(newestUs);
  if (timeUs <= newestUs - window.lengthUs) return false;
  return scoreAgainst(window.baseline, timeUs, value, rule, out) && Math.abs(out.z) > rule.zThreshold;
}
