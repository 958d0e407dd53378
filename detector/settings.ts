import { loadConfig } from '../lib/config';
import { ConfigError } from '../lib/errors';

/** What happens to a reading older than the newest one seen for its device (README). */
export type LatePolicy = 'drop' | 'score';

/** The detector's tuning, flat so a service can mount it under any key of its config. */
export interface DetectorSettings {
  windowSeconds: number;
  minSamples: number;
  maxWindowSamples: number;
  zThreshold: number;
  minStddevTemperature: number;
  minStddevHumidity: number;
  minStddevBattery: number;
  stuckReadings: number;
  lowBatteryThreshold: number;
  lowBatteryHysteresis: number;
  inactiveAfterSeconds: number;
  inactiveIntervalMultiple: number;
  inactiveMaxSeconds: number;
  cooldownSeconds: number;
  latePolicy: LatePolicy;
  allowedLatenessSeconds: number;
  maxFutureSeconds: number;
  memorySeconds: number;
  deviceTtlSeconds: number;
}

/** Defaults and reasons are in detector/README.md; its settings table mirrors this schema. */
export const detectorSchema = {
  windowSeconds: {
    doc: 'Length of the sliding window, per device and metric, that a new reading is scored against',
    format: 'positive-int',
    default: 900,
    env: 'DETECTOR_WINDOW_SECONDS',
  },
  minSamples: {
    doc: 'Fewest baseline samples in the window before a reading is scored (at least 3: a line and its spread)',
    format: 'positive-int',
    default: 10,
    env: 'DETECTOR_MIN_SAMPLES',
  },
  maxWindowSamples: {
    doc: 'Most samples one window keeps (bounds memory for a device that reports far too often)',
    format: 'positive-int',
    default: 4096,
    env: 'DETECTOR_MAX_WINDOW_SAMPLES',
  },
  zThreshold: {
    doc: 'An anomaly is a z-score beyond ± this (the analytics report uses 2.0; README: false alerts per setting)',
    format: 'positive-number',
    default: 4.2,
    env: 'DETECTOR_Z_THRESHOLD',
  },
  minStddevTemperature: {
    doc: 'Smallest spread assumed for temperature (degrees C); keeps a flat or quantised series from alerting on every step',
    format: 'positive-number',
    default: 0.05,
    env: 'DETECTOR_MIN_STDDEV_TEMPERATURE',
  },
  minStddevHumidity: {
    doc: 'Smallest spread assumed for humidity (percentage points)',
    format: 'positive-number',
    default: 0.1,
    env: 'DETECTOR_MIN_STDDEV_HUMIDITY',
  },
  minStddevBattery: {
    doc: 'Smallest spread assumed for battery (percentage points); whole-percent drain steps stay quiet',
    format: 'positive-number',
    default: 0.5,
    env: 'DETECTOR_MIN_STDDEV_BATTERY',
  },
  stuckReadings: {
    doc: 'A metric repeating one value this many readings in a row, within one window, while it normally moves, is a stuck sensor (0: off)',
    format: 'nat',
    default: 20,
    env: 'DETECTOR_STUCK_READINGS',
  },
  lowBatteryThreshold: {
    doc: 'A low_battery alert when the battery falls below this percentage',
    format: 'positive-number',
    default: 20,
    env: 'LOW_BATTERY_THRESHOLD',
  },
  lowBatteryHysteresis: {
    doc: 'The low-battery alert re-arms only once the battery rises above threshold + this',
    format: 'positive-number',
    default: 5,
    env: 'LOW_BATTERY_HYSTERESIS',
  },
  inactiveAfterSeconds: {
    doc: 'A device silent (event time) longer than this, or than the interval multiple if larger, is inactive',
    format: 'positive-int',
    default: 300,
    env: 'INACTIVE_AFTER_SECONDS',
  },
  inactiveIntervalMultiple: {
    doc: "Silence limit as a multiple of the device's median reporting interval; the larger limit wins",
    format: 'positive-number',
    default: 10,
    env: 'INACTIVE_INTERVAL_MULTIPLE',
  },
  inactiveMaxSeconds: {
    doc: "Cap on the interval-based silence limit, and how far back a device's intervals are remembered",
    format: 'positive-int',
    default: 900,
    env: 'INACTIVE_MAX_SECONDS',
  },
  cooldownSeconds: {
    doc: 'Per (device, kind, metric): a condition raises an alert only after this much quiet (event time)',
    format: 'positive-int',
    default: 120,
    env: 'ALERT_COOLDOWN_SECONDS',
  },
  latePolicy: {
    doc: 'A reading older than the newest seen for its device: drop (ignore) or score (check it against the window, never add it)',
    format: ['drop', 'score'],
    default: 'drop' as LatePolicy,
    env: 'DETECTOR_LATE_POLICY',
  },
  allowedLatenessSeconds: {
    doc: 'The event-time watermark trails the newest reading by this much before silence is judged',
    format: 'nat',
    default: 30,
    env: 'DETECTOR_ALLOWED_LATENESS_SECONDS',
  },
  maxFutureSeconds: {
    doc: 'A reading dated more than this after the bridge received it is rejected (a wrong device clock)',
    format: 'nat',
    default: 300,
    env: 'DETECTOR_MAX_FUTURE_SECONDS',
  },
  memorySeconds: {
    doc: 'How long battery-low and sequence facts are remembered for a device (event time)',
    format: 'positive-int',
    default: 1800,
    env: 'DETECTOR_MEMORY_SECONDS',
  },
  deviceTtlSeconds: {
    doc: 'A device unseen this long (event time) is forgotten entirely',
    format: 'positive-int',
    default: 7 * 24 * 3600,
    env: 'DETECTOR_DEVICE_TTL_SECONDS',
  },
};

/**
 * Loads the settings from defaults, the environment and overrides (keys as in the
 * schema). Throws one ConfigError naming every bad key, including cross-field rules.
 */
export function loadDetectorSettings(
  overrides: Partial<Record<keyof DetectorSettings, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): DetectorSettings {
  const settings: DetectorSettings = loadConfig(detectorSchema, overrides, env);
  const problems = checkDetectorSettings(settings);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** Rules convict cannot express one key at a time. */
export function checkDetectorSettings(s: DetectorSettings): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (s.minSamples < 3) {
    problems.push({
      key: 'DETECTOR_MIN_SAMPLES (minSamples)',
      message: 'must be at least 3 (a trend line and its spread need three samples)',
    });
  }
  if (s.lowBatteryThreshold >= 100) {
    problems.push({ key: 'LOW_BATTERY_THRESHOLD (lowBatteryThreshold)', message: 'must be below 100 (percent)' });
  }
  if (s.stuckReadings === 1) {
    problems.push({ key: 'DETECTOR_STUCK_READINGS (stuckReadings)', message: 'must be 0 (off) or at least 2 (one reading cannot repeat)' });
  }
  return problems;
}

/** The defaults, ignoring the environment (tests, tools). */
export function defaultDetectorSettings(overrides: Partial<DetectorSettings> = {}): DetectorSettings {
  return { ...loadDetectorSettings({}, {}), ...overrides };
}
