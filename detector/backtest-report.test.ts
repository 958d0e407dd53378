import { alertId } from './alert';
import { compareAlerts } from './backtest';
import { changedSettings, formatBacktest } from './backtest-report';
import { defaultDetectorSettings } from './settings';
import type { Alert } from '../schemas';

const T = Date.parse('2026-12-01T10:00:00Z') * 1000;
const anomaly = (device: string, z: number): Alert => ({
  alert_id: alertId(device, 'anomaly', 'temperature', T),
  device_id: device,
  kind: 'anomaly',
  metric: 'temperature',
  value: 20.6,
  mean: 20.1,
  stddev: 0.1,
  z,
  threshold: 4.2,
  reading_time: T,
  detected_at: 0,
  details: null,
});

describe('backtest report', () => {
  it('names the changed settings and prints counts per kind and the alerts that differ', () => {
    const defaults = defaultDetectorSettings();
    const changed = changedSettings({ ...defaults, zThreshold: 8 }, defaults);
    expect(changed).toEqual({ zThreshold: 8 });
    const text = formatBacktest(
      {
        topic: 'iot.telemetry.v1',
        fromMs: T / 1000,
        toMs: T / 1000 + 60_000,
        readings: 250,
        warmupReadings: 50,
        changed,
        liveAlerts: 2,
        comparison: compareAlerts([anomaly('dev-2', 9.9)], [anomaly('dev-1', 4.8), anomaly('dev-2', 9.9)]),
      },
      20,
    );
    expect(text).toContain('settings changed: zThreshold 8');
    expect(text).toMatch(/^anomaly\s+0\s+1\s+1$/m);
    expect(text).toMatch(/^total\s+0\s+1\s+1$/m);
    expect(text).toMatch(
      /only old \(the live detector raised them, these settings would not\):\n {2}2026-12-01T10:00:00\.000Z {2}anomaly +dev-1 {2}temperature 20\.6/,
    );
    expect(text).not.toContain('only new');
  });
});
