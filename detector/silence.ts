/**
 * Silence (inactivity) per device, judged in event time.
 *
 * A device that has published is inactive once the event-time watermark passes its
 * newest reading by more than its limit: the larger of a fixed floor and a (capped)
 * multiple of its own median reporting interval (the floor stops a fast device from
 * being declared dead after a few missed beats; the multiple stops a slow device from
 * being declared dead between two ordinary reports). One device_inactive per silence episode, one
 * device_recovered when it speaks again. The detector only judges silence when its
 * consumer is caught up (detector.ts), so a backlog never looks like a silent fleet.
 */

/** Reporting intervals kept per device; the median of a few ignores one odd gap (an outage). */
const INTERVALS = 8;

export class SilenceState {
  /** True between the device_inactive alert and the next reading. */
  inactive = false;
  private readonly gaps = new Float64Array(INTERVALS);
  private readonly starts = new Float64Array(INTERVALS);
  private stored = 0;
  private next = 0;

  /** Records the gap between two consecutive accepted readings. */
  recordInterval(fromUs: number, toUs: number): void {
    this.gaps[this.next] = toUs - fromUs;
    this.starts[this.next] = fromUs;
    this.next = (this.next + 1) % INTERVALS;
    if (this.stored < INTERVALS) this.stored++;
  }

  /**
   * Median of the recent reporting intervals that began at or after `sinceUs`, or NaN
   * if there are none. Only intervals within the detector's memory count, so a
   * restarted detector that replayed that memory computes the same median.
   */
  medianIntervalUs(sinceUs: number): number {
    // Called only for silence candidates, never per reading, so the small sort is fine.
    const recent: number[] = [];
    for (let k = 0; k < this.stored; k++) if (this.starts[k] >= sinceUs) recent.push(this.gaps[k]);
    const n = recent.length;
    if (n === 0) return Number.NaN;
    recent.sort((a, b) => a - b);
    return n % 2 === 1 ? recent[(n - 1) / 2] : (recent[n / 2 - 1] + recent[n / 2]) / 2;
  }
}

export interface SilenceRule {
  afterUs: number;
  intervalMultiple: number;
  /** Cap on the interval-based limit, and how far back (before the last reading) intervals count. */
  maxUs: number;
}

/**
 * The silence after which this device counts as inactive: the larger of the fixed floor
 * and the interval multiple, the latter capped. The cap and the bounded look-back keep
 * the limit a function of recent history, which a restarted detector replays.
 */
export function silenceLimitUs(state: SilenceState, lastSeenUs: number, rule: SilenceRule): number {
  const median = state.medianIntervalUs(lastSeenUs - rule.maxUs);
  let byInterval = Number.isNaN(median) ? 0 : median * rule.intervalMultiple;
  if (byInterval > rule.maxUs) byInterval = rule.maxUs;
  return byInterval > rule.afterUs ? byInterval : rule.afterUs;
}
