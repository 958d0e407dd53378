import fc from 'fast-check';
import { SlidingWindow, type Prediction } from './window';

/** Two-pass reference statistics over explicit samples (the slow, obviously right way). */
function naive(samples: { t: number; x: number }[], atUs: number) {
  // Times relative to the first sample: exact integers, so the reference loses nothing there.
  const origin = samples[0].t;
  samples = samples.map((s) => ({ t: s.t - origin, x: s.x }));
  atUs -= origin;
  const n = samples.length;
  const mean = samples.reduce((a, s) => a + s.x, 0) / n;
  const variance = n < 2 ? 0 : samples.reduce((a, s) => a + (s.x - mean) ** 2, 0) / (n - 1);
  const tm = samples.reduce((a, s) => a + s.t, 0) / n;
  let cuu = 0;
  let cuv = 0;
  for (const s of samples) {
    cuu += ((s.t - tm) / 1e6) ** 2;
    cuv += ((s.t - tm) / 1e6) * (s.x - mean);
  }
  const slope = cuu > 0 ? cuv / cuu : 0;
  let rss = 0;
  for (const s of samples) rss += (s.x - mean - slope * ((s.t - tm) / 1e6)) ** 2;
  const du = (atUs - tm) / 1e6;
  const s2 = n > 2 ? rss / (n - 2) : 0;
  return {
    mean,
    variance,
    slope,
    predicted: mean + slope * du,
    predictionSd: Math.sqrt(s2 * (1 + 1 / n + (cuu > 0 ? (du * du) / cuu : 0))),
  };
}

/** Deterministic noise for the long streams. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('SlidingWindow', () => {
  it('matches a two-pass computation over 1e6 readings of 1e9 + small noise', () => {
    const rnd = lcg(42);
    const window = new SlidingWindow(100 * 1e6); // ~100 samples at 1 s
    const kept: { t: number; x: number }[] = [];
    const t0 = 1_700_000_000_000_000;
    const out: Prediction = { value: 0, stddev: 0 };
    const ulp = 2 ** -23; // spacing of doubles near 1e9
    const worst = { mean: 0, variance: 0, predicted: 0, predictionSd: 0, textbook: 0 };
    for (let i = 0; i < 1_000_000; i++) {
      const t = t0 + i * 1_000_000 + Math.floor(rnd() * 500_000);
      const x = 1e9 + (rnd() - 0.5) * 0.01;
      window.slideTo(t);
      window.push(t, x, true);
      kept.push({ t, x });
      if (i % 997 === 996) {
        while (kept[0].t <= t - 100 * 1e6) kept.shift();
        // The reference works on x − 1e9, which is exact for these doubles, so it carries
        // no cancellation of its own.
        const ref = naive(
          kept.map((s) => ({ t: s.t, x: s.x - 1e9 })),
          t + 1e6,
        );
        expect(window.count).toBe(kept.length);
        expect(window.all.predict(t + 1e6, out)).toBe(true);
        worst.mean = Math.max(worst.mean, Math.abs(window.all.mean - 1e9 - ref.mean) / ulp);
        worst.variance = Math.max(worst.variance, relErr(window.all.variance, ref.variance));
        worst.predicted = Math.max(worst.predicted, Math.abs(out.value - 1e9 - ref.predicted) / ulp);
        worst.predictionSd = Math.max(worst.predictionSd, relErr(out.stddev, ref.predictionSd));
        // The textbook one-pass formula on the same data, to show the data is hard.
        const n = kept.length;
        const s1 = kept.reduce((a, s) => a + s.x, 0);
        const s2 = kept.reduce((a, s) => a + s.x * s.x, 0);
        worst.textbook = Math.max(worst.textbook, relErr((s2 - (s1 * s1) / n) / (n - 1), ref.variance));
      }
    }
    expect(worst.mean).toBeLessThanOrEqual(2); // within two units in the last place of 1e9
    expect(worst.predicted).toBeLessThanOrEqual(2);
    expect(worst.variance).toBeLessThan(1e-9);
    expect(worst.predictionSd).toBeLessThan(1e-9);
    expect(worst.textbook).toBeGreaterThan(1); // catastrophic cancellation, for contrast
  });

  it('matches a two-pass computation for random streams, windows and baseline membership', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 40_000_000 }),
            x: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
            base: fc.boolean(),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        fc.integer({ min: 1, max: 120 }),
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        (steps, lengthS, offset) => {
          const window = new SlidingWindow(lengthS * 1e6);
          const kept: { t: number; x: number; base: boolean }[] = [];
          let t = 1_700_000_000_000_000;
          const out: Prediction = { value: 0, stddev: 0 };
          for (const step of steps) {
            t += step.gap;
            const x = offset + step.x;
            window.slideTo(t);
            window.push(t, x, step.base);
            kept.push({ t, x, base: step.base });
            while (kept[0].t <= t - lengthS * 1e6) kept.shift();
            for (const [sums, subset] of [
              [window.all, kept],
              [window.baseline, kept.filter((s) => s.base)],
            ] as const) {
              expect(sums.count).toBe(subset.length);
              if (subset.length === 0) continue;
              const ref = naive(subset, t);
              const scale = Math.max(1, Math.abs(offset) + 1e6);
              expect(Math.abs(sums.mean - ref.mean)).toBeLessThanOrEqual(1e-9 * scale);
              expect(Math.abs(sums.stddev - Math.sqrt(ref.variance))).toBeLessThanOrEqual(1e-6 * Math.sqrt(ref.variance) + 1e-7 * scale);
              if (subset.length >= 3 && sums.predict(t, out)) {
                expect(Math.abs(out.value - ref.predicted)).toBeLessThanOrEqual(1e-5 * ref.predictionSd + 1e-8 * scale);
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('evicts by time: a window slid to t holds (t − length, t]', () => {
    const w = new SlidingWindow(10);
    for (let t = 1; t <= 30; t++) {
      w.slideTo(t);
      w.push(t, t, true);
    }
    expect(w.samples().map((s) => s.timeUs)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    w.slideTo(35);
    expect(w.oldestTimeUs).toBe(26);
    w.slideTo(100);
    expect(w.count).toBe(0);
    expect(w.all.count).toBe(0);
    expect(w.all.mean).toBeNaN();
  });

  it('grows by doubling and gives memory back when it empties', () => {
    const w = new SlidingWindow(1e12);
    for (let t = 1; t <= 1000; t++) w.push(t, Math.sin(t), true);
    expect(w.capacity).toBe(1024);
    w.slideTo(1e12 + 995);
    expect(w.count).toBe(5);
    expect(w.capacity).toBeLessThanOrEqual(32);
    expect(w.all.mean).toBeCloseTo([996, 997, 998, 999, 1000].reduce((a, t) => a + Math.sin(t), 0) / 5, 12);
  });

  it('keeps at most maxSamples, dropping the oldest', () => {
    const w = new SlidingWindow(1e12, 16);
    for (let t = 1; t <= 100; t++) w.push(t, t, t % 2 === 0);
    expect(w.count).toBe(16);
    expect(w.oldestTimeUs).toBe(85);
    expect(w.all.mean).toBeCloseTo(92.5, 9);
    expect(w.baseline.count).toBe(8);
  });

  it('predicts a straight line exactly, with no spread', () => {
    const w = new SlidingWindow(1e12);
    for (let i = 0; i < 50; i++) w.push(1_700_000_000_000_000 + i * 5e6, 80 - i * 0.01, true);
    const out: Prediction = { value: 0, stddev: 0 };
    expect(w.all.predict(1_700_000_000_000_000 + 50 * 5e6, out)).toBe(true);
    expect(out.value).toBeCloseTo(79.5, 9);
    expect(out.stddev).toBeLessThan(1e-6);
    expect(w.all.slopePerSecond).toBeCloseTo(-0.002, 12);
  });
});
