import type { Alert } from './index';
import { alertJson, formatAlert } from './alert-format';

const base: Alert = {
  alert_id: 'abc',
  device_id: 'dev-003',
  kind: 'anomaly',
  metric: 'temperature',
  value: 35.2,
  mean: 21.2999,
  stddev: 0.41,
  z: 34.12,
  threshold: 4.2,
  reading_time: Date.UTC(2026, 11, 2, 2, 50, 0, 123) * 1000 + 456,
  detected_at: Date.UTC(2026, 11, 2, 2, 50, 1),
  details: '{"samples":180}',
};

describe('alert formatting', () => {
  it('reads as a line an operator understands, per kind', () => {
    expect(formatAlert(base)).toBe('2026-12-02T02:50:00.123Z  anomaly           dev-003  temperature 35.2 (expected 21.3 ± 0.41, z 34.1)');
    expect(formatAlert({ ...base, kind: 'stuck_sensor', value: 21.4, z: null, threshold: 20 })).toContain(
      'temperature stuck at 21.4 for 20 readings (it normally moves ± 0.41)',
    );
    expect(formatAlert({ ...base, kind: 'low_battery', metric: 'battery', value: 19.5, threshold: 20 })).toContain(
      'battery 19.5 % below 20 %',
    );
    expect(formatAlert({ ...base, kind: 'device_inactive', threshold: 60 })).toContain('longer than 60 s');
    expect(formatAlert({ ...base, kind: 'device_recovered', value: 125.4 })).toContain('after 125 s');
    expect(formatAlert({ ...base, kind: 'data_gap', value: 3 })).toContain('3 readings missing');
  });

  it('JSON keeps every field, adds ISO times and parses details', () => {
    const parsed = JSON.parse(alertJson(base));
    expect(parsed).toMatchObject({ alert_id: 'abc', z: 34.12, details: { samples: 180 }, reading_time_iso: '2026-12-02T02:50:00.123Z' });
    expect(parsed.detected_at_iso).toBe('2026-12-02T02:50:01.000Z');
  });
});
