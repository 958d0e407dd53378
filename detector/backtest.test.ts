import type { Alert, Reading } from '../schemas';
import { groundTruthEvent } from '../schemas/ground-truth';
import { compareAlerts, LoggedReading, mergeByTime, runBacktest, scoreAgainstTruth, truthInRange } from './backtest';
import { defaultDetectorSettings } from './settings';

const T0_MS = Date.parse('2026-12-01T10:00:00Z');
const EVERY_MS = 5000;
/** Readings after which the spikes come, and their values over a baseline alternating 20.0 / 20.2. */
const SPIKES = new Map([
  [100, 20.6],
  [150, 21.1],
  [200, 23.1],
]);

/**
 * One device, a reading every 5 s for 250 readings: temperature alternating 20.0 and 20.2 (mean
 * 20.1, standard deviation 0.1, no trend), with three spikes 0.5, 1.0 and 3.0 above the mean, far
 * enough apart (250 s) for the 120 s cool-down. The window's line through n baseline samples
 * (spikes are kept out) has residual spread 0.1·√(n/(n−2)) and predicts one step past its end
 * with standard error s = 0.1·√(n/(n−2))·√(1 + 1/n + 3(n+1)/(n(n−1))); the alternation starting
 * low tilts the line up a little, so it expects ≈ 20.103. At the spikes n is 100, 149 and 177
 * (the window's 900 s reach back to reading 21 by the third), s ≈ 0.1030, 0.1020, 0.1017, and
 * z ≈ 0.497/0.1030 = 4.82, 0.997/0.1020 = 9.77 and 2.998/0.1017 = 29.47. At the default z 4.2
 * all three are anomalies; at z 8 the first is not. Nothing else alerts: no humidity or
 * battery, no sequence numbers.
 */
function stream(): LoggedReading[] {
  return Array.from({ length: 250 }, (_, i) => {
    const timestampMs = T0_MS + i * EVERY_MS;
    const temperature = SPIKES.get(i) ?? (i % 2 === 0 ? 20.0 : 20.2);
    const reading: Reading = {
      device_id: 'dev-1',
      time: timestampMs * 1000,
      firmware: null,
      temperature,
      humidity: null,
      battery: null,
      seq: null,
      ingested_at: timestampMs,
    };
    return { reading, timestampMs };
  });
}

const at = (i: number) => (T0_MS + i * EVERY_MS) * 1000;
const range = { fromMs: T0_MS + 50 * EVERY_MS, toMs: T0_MS + 250 * EVERY_MS };
const anomalyTimes = (alerts: readonly Alert[]) => alerts.filter((a) => a.kind === 'anomaly').map((a) => a.reading_time);

describe('backtest', () => {
  const live = runBacktest(stream(), defaultDetectorSettings(), range, 1000);
  const strict = runBacktest(stream(), defaultDetectorSettings({ zThreshold: 8 }), range, 1000);

  it('finds the hand-computed anomalies at each threshold, and nothing else', () => {
    expect(anomalyTimes(live)).toEqual([at(100), at(150), at(200)]);
    const z = live.map((a) => a.z!);
    [4.82, 9.77, 29.47].forEach((expected, i) => expect(z[i]).toBeCloseTo(expected, 1));
    expect(anomalyTimes(strict)).toEqual([at(150), at(200)]);
    expect(strict).toHaveLength(2);
  });

  it('sets z 8 against z 4.2: the 5σ spike is the only difference, the others are the same alerts', () => {
    const c = compareAlerts(strict, live);
    expect(c.onlyNew).toEqual([]);
    expect(c.onlyOld.map((a) => a.reading_time)).toEqual([at(100)]);
    expect(c.both.map((a) => a.reading_time)).toEqual([at(150), at(200)]);
    expect(c.perKind.anomaly).toEqual({ onlyNew: 0, onlyOld: 1, both: 2 });
    expect(c.perKind.low_battery).toEqual({ onlyNew: 0, onlyOld: 0, both: 0 });
    // The other way round: the same alerts, the sides swapped.
    expect(compareAlerts(live, strict).perKind.anomaly).toEqual({ onlyNew: 1, onlyOld: 0, both: 2 });
  });

  it('keeps only alerts whose reading lies in the range, with the warm-up before it shaping the state', () => {
    const late = runBacktest(stream(), defaultDetectorSettings(), { fromMs: T0_MS + 120 * EVERY_MS, toMs: range.toMs }, 1000);
    expect(anomalyTimes(late)).toEqual([at(150), at(200)]);
    // Without the warm-up the window is empty at 150: too few samples to score the spike.
    const cold = runBacktest(stream().slice(145), defaultDetectorSettings(), { fromMs: T0_MS + 120 * EVERY_MS, toMs: range.toMs }, 1000);
    expect(anomalyTimes(cold)).toEqual([at(200)]);
  });

  it('judges a silence through a quiet spell after the last reading, as the service clock would', () => {
    const settings = defaultDetectorSettings({ inactiveAfterSeconds: 60 });
    const lastMs = T0_MS + 249 * EVERY_MS;
    const quiet = runBacktest(stream(), settings, { fromMs: range.fromMs, toMs: lastMs + 30_000 }, 1000);
    expect(quiet.filter((a) => a.kind === 'device_inactive')).toEqual([]);
    const long = runBacktest(stream(), settings, { fromMs: range.fromMs, toMs: lastMs + 600_000 }, 1000);
    expect(long.filter((a) => a.kind === 'device_inactive').map((a) => a.reading_time)).toEqual([lastMs * 1000]);
  });

  it('merges partitions by Kafka time', () => {
    const s = stream();
    const merged = mergeByTime([s.filter((_, i) => i % 2 === 0), s.filter((_, i) => i % 2 === 1)]);
    expect(merged.map((r) => r.timestampMs)).toEqual(s.map((r) => r.timestampMs));
  });

  it('scores both against the ground truth of the range', () => {
    const spike = (i: number) =>
      groundTruthEvent({
        device_id: 'dev-1',
        kind: 'spike',
        metric: 'temperature',
        start_ms: at(i) / 1000,
        end_ms: at(i) / 1000,
        readings: 1,
      });
    const jsonl = [spike(10), spike(100), spike(150), spike(200)].map((e) => JSON.stringify(e)).join('\n');
    const events = truthInRange(jsonl, range);
    expect(events).toHaveLength(3);
    const settings = defaultDetectorSettings();
    expect(scoreAgainstTruth(live, events, settings)).toMatchObject({ recall: { spike: { events: 3, found: 3 } }, unexplained: 0 });
    expect(scoreAgainstTruth(strict, events, settings)).toMatchObject({ recall: { spike: { events: 3, found: 2 } }, unexplained: 0 });
    expect(scoreAgainstTruth(live, truthInRange('', range), settings).unexplained).toBe(3);
  });
});
