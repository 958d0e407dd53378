import convict from 'convict';
import { ConfigOf, loadConfig, postgresSchema } from '../lib/config';

convict.addFormat({
  name: 'percentage',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 100)
      throw new Error('must be a number above 0 and at most 100');
  },
  coerce: (v: string) => Number(v),
});

/** The report's settings; defaults z-score 2.0, battery 20 %, 24 hours. */
export const reportSchema = {
  hours: { doc: 'Window of the report, in hours back from now', format: 'positive-number', default: 24, env: 'ANALYTICS_HOURS' },
  zThreshold: {
    doc: 'A temperature is an anomaly beyond this many standard deviations from its device mean',
    format: 'positive-number',
    default: 2.0,
    env: 'ANALYTICS_Z_THRESHOLD',
  },
  batteryThreshold: {
    doc: 'A device is low on battery when its newest battery reading is below this percentage',
    format: 'percentage',
    default: 20,
    env: 'ANALYTICS_BATTERY_THRESHOLD',
  },
  inactiveMinutes: {
    doc: 'A device is inactive when its newest reading is older than this many minutes',
    format: 'positive-number',
    default: 10,
    env: 'ANALYTICS_INACTIVE_MINUTES',
  },
  anomalyLimit: {
    doc: 'How many of the newest anomalies the report lists',
    format: 'positive-int',
    default: 20,
    env: 'ANALYTICS_ANOMALY_LIMIT',
  },
};

export const analyticsConfigSchema = { postgres: postgresSchema, report: reportSchema };

export type AnalyticsConfig = ConfigOf<typeof analyticsConfigSchema>;

/** Throws ConfigError naming every bad key. */
export function loadAnalyticsConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): AnalyticsConfig {
  return loadConfig(analyticsConfigSchema, overrides, env);
}
