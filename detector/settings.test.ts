import { ConfigError } from '../lib/errors';
import { defaultDetectorSettings, loadDetectorSettings } from './settings';

describe('detector settings', () => {
  it('has the documented defaults', () => {
    expect(defaultDetectorSettings()).toEqual({
      windowSeconds: 900,
      minSamples: 10,
      maxWindowSamples: 4096,
      zThreshold: 4.2,
      minStddevTemperature: 0.05,
      minStddevHumidity: 0.1,
      minStddevBattery: 0.5,
      stuckReadings: 20,
      lowBatteryThreshold: 20,
      lowBatteryHysteresis: 5,
      inactiveAfterSeconds: 300,
      inactiveIntervalMultiple: 10,
      inactiveMaxSeconds: 900,
      cooldownSeconds: 120,
      latePolicy: 'drop',
      allowedLatenessSeconds: 30,
      maxFutureSeconds: 300,
      memorySeconds: 1800,
      deviceTtlSeconds: 604800,
    });
  });

  it('reads the environment', () => {
    const s = loadDetectorSettings(
      {},
      { DETECTOR_Z_THRESHOLD: '2.0', LOW_BATTERY_THRESHOLD: '15', DETECTOR_LATE_POLICY: 'score', ALERT_COOLDOWN_SECONDS: '60' },
    );
    expect(s).toMatchObject({ zThreshold: 2, lowBatteryThreshold: 15, latePolicy: 'score', cooldownSeconds: 60 });
  });

  it('names every bad key at once, by its environment variable', () => {
    let error: unknown;
    try {
      loadDetectorSettings({}, { DETECTOR_WINDOW_SECONDS: '0', DETECTOR_Z_THRESHOLD: 'x', DETECTOR_LATE_POLICY: 'keep' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DETECTOR_WINDOW_SECONDS');
    expect(message).toContain('DETECTOR_Z_THRESHOLD');
    expect(message).toContain('DETECTOR_LATE_POLICY');
  });

  it('checks rules between and beyond single keys', () => {
    expect(() => loadDetectorSettings({}, { DETECTOR_MIN_SAMPLES: '2' })).toThrow(/DETECTOR_MIN_SAMPLES/);
    expect(() => loadDetectorSettings({}, { LOW_BATTERY_THRESHOLD: '100' })).toThrow(/LOW_BATTERY_THRESHOLD/);
  });
});
