import { ConfigError } from '../lib/errors';
import { parseArgs } from './args';
import { loadAnalyticsConfig } from './config';

describe('analytics arguments', () => {
  it('maps numeric flags to config keys and keeps device and --json', () => {
    expect(
      parseArgs([
        '--hours',
        '6',
        '--device',
        'device-007',
        '--z-threshold',
        '3',
        '--battery-threshold',
        '15',
        '--inactive-minutes',
        '2',
        '--limit',
        '5',
        '--json',
      ]),
    ).toEqual({
      help: false,
      json: true,
      deviceId: 'device-007',
      overrides: {
        'report.hours': 6,
        'report.zThreshold': 3,
        'report.batteryThreshold': 15,
        'report.inactiveMinutes': 2,
        'report.anomalyLimit': 5,
      },
    });
    expect(parseArgs([])).toEqual({ help: false, json: false, deviceId: undefined, overrides: {} });
  });

  it('refuses unknown flags and missing values with a ConfigError that shows the usage', () => {
    expect(() => parseArgs(['--days', '3'])).toThrow(ConfigError);
    expect(() => parseArgs(['--days', '3'])).toThrow(/usage: iot-pipeline analytics/);
    expect(() => parseArgs(['--hours'])).toThrow(ConfigError);
    expect(() => parseArgs(['--device', ''])).toThrow(/--device: must be a device id/);
  });
});

describe('analytics configuration', () => {
  it('has the documented defaults: 24 hours, z-score 2, battery 20 %', () => {
    expect(loadAnalyticsConfig({}, {}).report).toEqual({
      hours: 24,
      zThreshold: 2,
      batteryThreshold: 20,
      inactiveMinutes: 10,
      anomalyLimit: 20,
    });
  });

  it('takes the environment, and flags over it', () => {
    const env = { ANALYTICS_HOURS: '48', ANALYTICS_Z_THRESHOLD: '2.5' };
    expect(loadAnalyticsConfig({}, env).report).toMatchObject({ hours: 48, zThreshold: 2.5 });
    expect(loadAnalyticsConfig(parseArgs(['--hours', '3']).overrides, env).report.hours).toBe(3);
  });

  it('names every bad key at once, by its environment variable', () => {
    const overrides = parseArgs(['--hours', 'abc', '--battery-threshold', '150']).overrides;
    const attempt = () => loadAnalyticsConfig(overrides, { ANALYTICS_ANOMALY_LIMIT: '2.5', POSTGRES_PORT: 'x' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      expect((err as ConfigError).keys.sort()).toEqual([
        'ANALYTICS_ANOMALY_LIMIT (report.anomalyLimit)',
        'ANALYTICS_BATTERY_THRESHOLD (report.batteryThreshold)',
        'ANALYTICS_HOURS (report.hours)',
        'POSTGRES_PORT (postgres.port)',
      ]);
    }
  });
});
