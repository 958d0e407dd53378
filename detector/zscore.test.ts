import type { Alert, Reading } from '../schemas';
import { Detector } from './detector';
import { defaultDetectorSettings, type DetectorSettings } from './settings';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

/** Bounded deterministic noise in [-1, 1): uniform noise never reaches |z| = √3, so no false alerts. */
function noise(i: number): number {
  let x = Math.imul(i + 1, 2654435761) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 2246822519) >>> 0;
  return (x / 2 ** 32) * 2 - 1;
}

function reading(i: number, temperature: number | null, f: Partial<Reading> = {}): Reading {
  const time = T0 + i * 5 * S;
  return {
    device_id: 'd1',
    time,
    firmware: null,
    temperature,
    humidity: 50 + noise(i + 7777),
    battery: null,
    seq: null,
    ingested_at: time / 1000,
    ...f,
  };
}

function run(values: (number | null)[], overrides: Partial<DetectorSettings> = {}): { alerts: Alert[]; det: Detector } {
  const det = new Detector(defaultDetectorSettings(overrides));
  const alerts = values.flatMap((v, i) => det.onReading(reading(i, v), 0));
  return { alerts, det };
}

/** 20 °C with noise of σ ≈ 0.17 (uniform ±0.3), one reading every 5 s. */
const normal = (n: number) => Array.from({ length: n }, (_, i) => 20 + 0.3 * noise(i));

describe('anomalies (z-score against the window before the reading joins)', () => {
  it('an injected spike yields exactly one alert', () => {
    const values = normal(400);
    values[250] += 3; // ≈ 17σ
    const { alerts } = run(values);
    expect(alerts).toHaveLength(1);
    const a = alerts[0];
    expect(a).toMatchObject({ kind: 'anomaly', metric: 'temperature', device_id: 'd1', reading_time: T0 + 250 * 5 * S, threshold: 4.2 });
    expect(a.value).toBeCloseTo(values[250], 12);
    expect(a.mean!).toBeCloseTo(20, 1);
    expect(a.stddev!).toBeGreaterThan(0.1);
    expect(a.stddev!).toBeLessThan(0.3);
    expect(a.z!).toBeGreaterThan(10);
    expect(a.alert_id).toMatch(/^[0-9a-f]{32}$/);
    const details = JSON.parse(a.details!);
    // The window before the reading: (t − 900 s, t), 179 readings at 5 s.
    expect(details).toMatchObject({ window_seconds: 900, samples: 179, stddev_floor_applied: false });
  });

  it('a spike is kept out of the baseline, so the next spike is judged as if the first never happened', () => {
    const values = normal(400);
    values[252] += 1.2; // ≈ 7σ
    const alone = run(values, { cooldownSeconds: 1 }).alerts;
    values[250] += 1.2;
    const { alerts, det } = run(values, { cooldownSeconds: 1 });
    expect(alerts.map((a) => a.reading_time)).toEqual([T0 + 250 * 5 * S, T0 + 252 * 5 * S]);
    // Only the first spike's own sample differs between the two baselines.
    expect(alerts[1].z!).toBeCloseTo(alone[0].z!, 1);
    expect(alerts[1].stddev!).toBeCloseTo(alone[0].stddev!, 2);
    expect(det.metrics.outliersKeptOut).toBe(2);
  });

  it('nothing is scored before the window holds the minimum of samples', () => {
    const calm = [20, 20.1, 19.9, 20, 20.1, 19.9, 20, 20.1, 20, 19.9];
    expect(run([...calm.slice(0, 9), 35], { minSamples: 10 }).alerts).toEqual([]);
    expect(run([...calm, 35], { minSamples: 10 }).alerts.map((a) => a.reading_time)).toEqual([T0 + 10 * 5 * S]);
  });

  it('a lasting level shift alerts once and becomes the new normal within a window', () => {
    const values = normal(1000).map((v, i) => (i >= 300 ? v + 5 : v));
    values[800] += 3; // a spike on the new level is still caught
    const { alerts } = run(values, { cooldownSeconds: 300 });
    expect(alerts.map((a) => (a.reading_time - T0) / (5 * S))).toEqual([300, 800]);
  });

  it('a steady trend is not an anomaly: the window follows its line', () => {
    // 3 °C per hour (a warm afternoon), and a battery draining 1 % per hour in 0.1 steps.
    const det = new Detector(defaultDetectorSettings());
    const alerts: Alert[] = [];
    for (let i = 0; i < 3000; i++) {
      const hours = (i * 5) / 3600;
      alerts.push(...det.onReading(reading(i, 20 + 3 * hours + 0.3 * noise(i), { battery: Math.round((90 - hours) * 10) / 10 }), 0));
    }
    expect(alerts).toEqual([]);
  });

  it('a spike against the trend is caught as well as one with it', () => {
    const values = Array.from({ length: 600 }, (_, i) => 20 + (6 * i * 5) / 3600 + 0.3 * noise(i));
    values[300] -= 1.5;
    values[450] += 1.5;
    const { alerts } = run(values);
    expect(alerts.map((a) => (a.reading_time - T0) / (5 * S))).toEqual([300, 450]);
  });

  it('flapping values give one alert per episode, and a new one after a quiet cool-down', () => {
    const values = normal(1000);
    for (let i = 300; i < 420; i += 3) values[i] += 3; // a spike every 15 s for 10 minutes
    values[600] += 3; // 15 minutes after the flapping stopped
    const { alerts, det } = run(values, { cooldownSeconds: 300 });
    expect(alerts.map((a) => (a.reading_time - T0) / (5 * S))).toEqual([300, 600]);
    expect(det.metrics.suppressedCooldown).toBeGreaterThan(10);
  });

  it('a flat series uses the floor for its spread, so quantisation steps do not alert', () => {
    // Battery at 100 for an hour, then 99.9: z = 0.1 / 0.5, no alert.
    const det = new Detector(defaultDetectorSettings());
    const alerts: Alert[] = [];
    for (let i = 0; i < 800; i++) alerts.push(...det.onReading(reading(i, 20, { battery: i < 720 ? 100 : 99.9, humidity: 50 }), 0));
    expect(alerts).toEqual([]);
  });

  it('metrics are independent: a humidity spike does not touch temperature', () => {
    const det = new Detector(defaultDetectorSettings());
    const alerts: Alert[] = [];
    for (let i = 0; i < 300; i++) {
      alerts.push(...det.onReading(reading(i, 20 + 0.3 * noise(i), { humidity: 50 + noise(i + 7777) + (i === 200 ? 20 : 0) }), 0));
    }
    expect(alerts.map((a) => a.metric)).toEqual(['humidity']);
  });
});
