import type { Alert, Reading } from '../schemas';
import { BatteryState, observeBattery } from './battery';
import { Detector } from './detector';
import { defaultDetectorSettings } from './settings';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

function reading(tSec: number, battery: number): Reading {
  const time = T0 + tSec * S;
  return { device_id: 'd1', time, firmware: null, temperature: null, humidity: null, battery, seq: null, ingested_at: time / 1000 };
}

/** Feeds battery levels one per minute; returns the low_battery alerts. */
function run(levels: number[], overrides = {}): Alert[] {
  const det = new Detector(defaultDetectorSettings({ cooldownSeconds: 1, ...overrides }));
  return levels.flatMap((b, i) => det.onReading(reading(i * 60, b), 0)).filter((a) => a.kind === 'low_battery');
}

describe('low battery', () => {
  const rule = { threshold: 20, hysteresis: 5, memoryUs: 3600 * S };

  it('alerts once on crossing below the threshold, not again while it stays low', () => {
    const alerts = run([40, 30, 21, 20, 19.9, 18, 15, 10, 5, 12, 19]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ metric: 'battery', value: 19.9, threshold: 20, reading_time: T0 + 4 * 60 * S });
    expect(JSON.parse(alerts[0].details!)).toEqual({ rearm_above: 25 });
  });

  it('re-arms only above threshold + hysteresis', () => {
    // Wobbling in the band 20..25 keeps it disarmed.
    expect(run([30, 19, 22, 19, 24, 19, 25, 19])).toHaveLength(1);
    // Above 25 re-arms: the next dip alerts again.
    const alerts = run([30, 19, 22, 25.1, 24, 19.5]);
    expect(alerts.map((a) => a.value)).toEqual([19, 19.5]);
  });

  it('alerts for a device first seen already low', () => {
    expect(run([12, 11, 10])).toHaveLength(1);
  });

  it('forgets an old crossing after the memory: a device low again after long in the band is reminded', () => {
    const state = new BatteryState();
    expect(observeBattery(state, 0, 19, rule)).toBe(true);
    expect(observeBattery(state, 600 * S, 22, rule)).toBe(false);
    expect(observeBattery(state, 1200 * S, 19, rule)).toBe(false);
    expect(observeBattery(state, 3000 * S, 22, rule)).toBe(false);
    // Last low reading 1200 s, now 1200 + 3600 + 1: the memory has lapsed.
    expect(observeBattery(state, 4801 * S, 19, rule)).toBe(true);
  });

  it('a level exactly at the threshold is not below it, and exactly at the re-arm level does not re-arm', () => {
    const state = new BatteryState();
    expect(observeBattery(state, 0, 20, rule)).toBe(false);
    expect(observeBattery(state, 1, 19.99, rule)).toBe(true);
    expect(observeBattery(state, 2, 25, rule)).toBe(false);
    expect(observeBattery(state, 3, 19, rule)).toBe(false);
  });

  it('is cooled down like every other key', () => {
    // Re-armed and crossed again within five minutes: the second crossing is suppressed.
    const det = new Detector(defaultDetectorSettings({ cooldownSeconds: 300 }));
    const alerts = [30, 19, 26, 19].flatMap((b, i) => det.onReading(reading(i * 60, b), 0));
    expect(alerts.filter((a) => a.kind === 'low_battery')).toHaveLength(1);
    expect(det.metrics.suppressedCooldown).toBe(1);
  });
});
