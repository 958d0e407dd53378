/**
 * Time-based sliding window statistics for one metric of one device: the mean and
 * variance of its values and the least-squares line through them (for trend-aware
 * scoring, see zscore.ts).
 *
 * Samples sit in a ring buffer of (time, value, inBaseline) that grows and shrinks by
 * powers of two, so adding and evicting are O(1) amortised and memory follows the
 * window's size. Two running summaries are kept over the same samples:
 *
 *  - `all`: every sample in the window;
 *  - `baseline`: only the samples that were not outliers when they arrived.
 *
 * New readings are scored against `baseline`, so a spike never inflates the spread
 * used to judge the readings after it. Whether a sample joins the baseline is decided
 * from `all` (see zscore.ts), which keeps the window a function of the last two window
 * lengths of readings: a restarted detector that replays that much history rebuilds
 * exactly the same state.
 */

/** A prediction from a window's trend line: the expected value and its standard error. */
export interface Prediction {
  value: number;
  stddev: number;
}

/**
 * Running sums over (time, value) samples, as deviations from a reference point
 * (T, K): Σu, Σu², Σv, Σv², Σuv with u = t − T (seconds) and v = x − K. They give the
 * mean and variance of the values and the least-squares line through the samples,
 * each from centred co-moments such as Σv² − (Σv)²/n. With the reference near the
 * means those subtractions do not cancel catastrophically, even for values such as
 * 1e9 + small noise, where the textbook Σx² − (Σx)²/n loses every significant digit.
 * Rounding error from adding and removing accumulates slowly; the window bounds it by
 * recomputing the sums exactly around the current means every half window.
 */
export class WindowSums {
  private n = 0;
  private t0 = 0;
  private x0 = 0;
  private su = 0;
  private suu = 0;
  private sv = 0;
  private svv = 0;
  private suv = 0;

  get count(): number {
    return this.n;
  }

  add(timeUs: number, x: number): void {
    // The first sample of an empty summary is the best reference we have.
    if (this.n === 0) this.reset(timeUs, x);
    const u = (timeUs - this.t0) * S_PER_US;
    const v = x - this.x0;
    this.n++;
    this.su += u;
    this.suu += u * u;
    this.sv += v;
    this.svv += v * v;
    this.suv += u * v;
  }

  remove(timeUs: number, x: number): void {
    this.n--;
    // Exactly empty: drop whatever rounding residue the sums carried.
    if (this.n === 0) return this.reset(this.t0, this.x0);
    const u = (timeUs - this.t0) * S_PER_US;
    const v = x - this.x0;
    this.su -= u;
    this.suu -= u * u;
    this.sv -= v;
    this.svv -= v * v;
    this.suv -= u * v;
  }

  /** NaN when empty. */
  get mean(): number {
    return this.n === 0 ? NaN : this.x0 + this.sv / this.n;
  }

  /** Sample variance of the values (n − 1); 0 below two samples. */
  get variance(): number {
    if (this.n < 2) return 0;
    const cvv = this.svv - (this.sv * this.sv) / this.n;
    return cvv > 0 ? cvv / (this.n - 1) : 0;
  }

  get stddev(): number {
    return Math.sqrt(this.variance);
  }

  /** Slope of the least-squares line, value units per second; 0 below two samples. */
  get slopePerSecond(): number {
    if (this.n < 2) return 0;
    const cuu = this.suu - (this.su * this.su) / this.n;
    return cuu > 0 ? (this.suv - (this.su * this.sv) / this.n) / cuu : 0;
  }

  /**
   * The least-squares line's value at `timeUs` and the standard error of a new
   * observation there: s·√(1 + 1/n + (u − ū)²/Σ(u − ū)²), s² = residual SS/(n − 2).
   * False (and `out` untouched) below three samples, where a line has no spread.
   */
  predict(timeUs: number, out: Prediction): boolean {
    const n = this.n;
    if (n < 3) return false;
    const ubar = this.su / n;
    const vbar = this.sv / n;
    const cuu = this.suu - this.su * ubar;
    const cvv = this.svv - this.sv * vbar;
    const cuv = this.suv - this.su * vbar;
    const slope = cuu > 0 ? cuv / cuu : 0;
    const rss = cvv - slope * cuv;
    const s2 = rss > 0 ? rss / (n - 2) : 0;
    const du = (timeUs - this.t0) * S_PER_US - ubar;
    out.value = this.x0 + vbar + slope * du;
    out.stddev = Math.sqrt(s2 * (1 + 1 / n + (cuu > 0 ? (du * du) / cuu : 0)));
    return true;
  }

  /** Replaces the sums with exactly recomputed ones around a new reference. */
  rebuild(count: number, t0: number, x0: number, su: number, suu: number, sv: number, svv: number, suv: number): void {
    this.n = count;
    this.t0 = t0;
    this.x0 = x0;
    this.su = su;
    this.suu = suu;
    this.sv = sv;
    this.svv = svv;
    this.suv = suv;
  }

  private reset(t0: number, x0: number): void {
    this.t0 = t0;
    this.x0 = x0;
    this.su = 0;
    this.suu = 0;
    this.sv = 0;
    this.svv = 0;
    this.suv = 0;
  }
}

/** Seconds per microsecond: sums use seconds, and a multiplication is cheaper than a division. */
const S_PER_US = 1e-6;
const MIN_CAPACITY = 8;
/**
 * The sums are recomputed exactly whenever a sample lands in a new half-window slot of
 * event time (see `push`). Exported so the detector can account for it in its replay
 * horizon.
 */
export const REBUILDS_PER_WINDOW = 2;

export class SlidingWindow {
  readonly all = new WindowSums();
  readonly baseline = new WindowSums();

  private times: Float64Array;
  private values: Float64Array;
  private inBaseline: Uint8Array;
  private head = 0;
  private size = 0;
  private readonly rebuildEveryUs: number;
  private rebuiltInSlot = Number.NEGATIVE_INFINITY;

  /**
   * @param lengthUs window length; a window slid to time t holds samples in (t − length, t].
   * @param maxSamples hard cap; beyond it the oldest samples go early, bounding memory
   *   for a device that reports far faster than expected.
   */
  constructor(
    readonly lengthUs: number,
    readonly maxSamples: number = Number.POSITIVE_INFINITY,
  ) {
    this.times = new Float64Array(MIN_CAPACITY);
    this.values = new Float64Array(MIN_CAPACITY);
    this.inBaseline = new Uint8Array(MIN_CAPACITY);
    this.rebuildEveryUs = lengthUs / REBUILDS_PER_WINDOW;
  }

  get count(): number {
    return this.size;
  }

  get capacity(): number {
    return this.times.length;
  }

  /** Time of the newest sample, or -Infinity when empty. */
  get newestTimeUs(): number {
    return this.size === 0 ? Number.NEGATIVE_INFINITY : this.times[(this.head + this.size - 1) & (this.times.length - 1)];
  }

  /** Time of the oldest sample, or +Infinity when empty. */
  get oldestTimeUs(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.times[this.head];
  }

  /** Evicts the samples that fall out of a window ending at `timeUs`. */
  slideTo(timeUs: number): void {
    const cutoff = timeUs - this.lengthUs;
    const mask = this.times.length - 1;
    while (this.size > 0 && this.times[this.head] <= cutoff) this.evictOldest(mask);
    this.maybeShrink();
  }

  /**
   * Appends a sample. Times must not decrease (the detector's late-reading policy
   * guarantees it), which is what keeps eviction a pop from the head.
   */
  push(timeUs: number, value: number, inBaseline: boolean): void {
    if (this.size >= this.maxSamples) this.evictOldest(this.times.length - 1);
    if (this.size === this.times.length) this.resize(this.times.length * 2);
    const i = (this.head + this.size) & (this.times.length - 1);
    this.times[i] = timeUs;
    this.values[i] = value;
    this.inBaseline[i] = inBaseline ? 1 : 0;
    this.size++;
    this.all.add(timeUs, value);
    if (inBaseline) this.baseline.add(timeUs, value);
    // Rebuild on the first sample of each half-window slot of event time. The cost, two
    // passes over at most a window, is spread over the samples of half a window:
    // O(1) amortised for a device that reports steadily, and the rounding error of the
    // running sums never accumulates over more than a window's worth of operations.
    // Tying the moment to event time (not to a count of operations since the detector
    // started) makes the sums a function of the readings alone: a detector that replays
    // history holds bit-for-bit the same numbers as one that never stopped.
    const slot = Math.floor(timeUs / this.rebuildEveryUs);
    if (slot !== this.rebuiltInSlot) {
      this.rebuiltInSlot = slot;
      this.rebuild();
    }
  }

  /** Samples oldest first (tests and diagnostics; allocates). */
  samples(): { timeUs: number; value: number; inBaseline: boolean }[] {
    const out: { timeUs: number; value: number; inBaseline: boolean }[] = [];
    const mask = this.times.length - 1;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & mask;
      out.push({ timeUs: this.times[i], value: this.values[i], inBaseline: this.inBaseline[i] === 1 });
    }
    return out;
  }

  private evictOldest(mask: number): void {
    const i = this.head;
    const t = this.times[i];
    const v = this.values[i];
    this.all.remove(t, v);
    if (this.inBaseline[i] === 1) this.baseline.remove(t, v);
    this.head = (i + 1) & mask;
    this.size--;
  }

  /**
   * Two-pass exact recomputation of both summaries, each around its own means: pass 1
   * finds the means (summed as deviations from the oldest sample), pass 2 the sums.
   * Both summaries in the same passes; arrays in locals, this is the one loop that runs
   * over a whole window.
   */
  private rebuild(): void {
    const times = this.times;
    const values = this.values;
    const flags = this.inBaseline;
    const size = this.size;
    const head = this.head;
    const mask = times.length - 1;
    if (size === 0) {
      this.all.rebuild(0, 0, 0, 0, 0, 0, 0, 0);
      this.baseline.rebuild(0, 0, 0, 0, 0, 0, 0, 0);
      return;
    }
    const tOrigin = times[head];
    const xOrigin = values[head];
    let nB = 0;
    let stA = 0;
    let sxA = 0;
    let stB = 0;
    let sxB = 0;
    for (let k = 0; k < size; k++) {
      const i = (head + k) & mask;
      const dt = times[i] - tOrigin;
      const dx = values[i] - xOrigin;
      stA += dt;
      sxA += dx;
      if (flags[i] === 1) {
        nB++;
        stB += dt;
        sxB += dx;
      }
    }
    // Whole microseconds keep the time references exact.
    const tA = tOrigin + Math.round(stA / size);
    const xA = xOrigin + sxA / size;
    const tB = nB > 0 ? tOrigin + Math.round(stB / nB) : 0;
    const xB = nB > 0 ? xOrigin + sxB / nB : 0;
    let suA = 0;
    let suuA = 0;
    let svA = 0;
    let svvA = 0;
    let suvA = 0;
    let suB = 0;
    let suuB = 0;
    let svB = 0;
    let svvB = 0;
    let suvB = 0;
    for (let k = 0; k < size; k++) {
      const i = (head + k) & mask;
      const t = times[i];
      const x = values[i];
      const u = (t - tA) * S_PER_US;
      const v = x - xA;
      suA += u;
      suuA += u * u;
      svA += v;
      svvA += v * v;
      suvA += u * v;
      if (flags[i] === 1) {
        const ub = (t - tB) * S_PER_US;
        const vb = x - xB;
        suB += ub;
        suuB += ub * ub;
        svB += vb;
        svvB += vb * vb;
        suvB += ub * vb;
      }
    }
    this.all.rebuild(size, tA, xA, suA, suuA, svA, svvA, suvA);
    this.baseline.rebuild(nB, tB, xB, suB, suuB, svB, svvB, suvB);
  }

  /**
   * Shrinks the buffer once it is three-quarters empty, to twice what it holds, so a
   * quiet device gives memory back. Growing happens at full and shrinking at a quarter,
   * so each copy is paid for by as many adds or evictions: O(1) amortised.
   */
  private maybeShrink(): void {
    const cap = this.times.length;
    if (cap <= MIN_CAPACITY || this.size >= cap / 4) return;
    let target = MIN_CAPACITY;
    while (target < this.size * 2) target *= 2;
    this.resize(target);
  }

  private resize(capacity: number): void {
    const times = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    const flags = new Uint8Array(capacity);
    const mask = this.times.length - 1;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & mask;
      times[k] = this.times[i];
      values[k] = this.values[i];
      flags[k] = this.inBaseline[i];
    }
    this.times = times;
    this.values = values;
    this.inBaseline = flags;
    this.head = 0;
  }
}
