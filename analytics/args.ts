import { parseArgs as parseNodeArgs } from 'node:util';
import { ConfigError } from '../lib/errors';

export const USAGE = `usage: iot-pipeline analytics [--hours <n>] [--device <id>] [--z-threshold <n>] [--battery-threshold <percent>]
                             [--inactive-minutes <n>] [--limit <n>] [--json]

Prints the fleet report: all devices summary, temperature anomalies, low battery and inactive devices.
  --hours              ANALYTICS_HOURS: window of the summary and the anomalies, default 24
  --device             only this device (and its latest readings)
  --z-threshold        ANALYTICS_Z_THRESHOLD: anomaly beyond this many standard deviations, default 2.0
  --battery-threshold  ANALYTICS_BATTERY_THRESHOLD: low battery below this percentage, default 20
  --inactive-minutes   ANALYTICS_INACTIVE_MINUTES: inactive after this many minutes of silence, default 10
  --limit              ANALYTICS_ANOMALY_LIMIT: newest anomalies listed, default 20
  --json               the report as one JSON document`;

export interface AnalyticsArgs {
  help: boolean;
  json: boolean;
  deviceId?: string;
  /** Config overrides by convict key; numbers stay unparsed until the schema validates them. */
  overrides: Record<string, unknown>;
}

const NUMERIC_FLAGS = {
  hours: 'report.hours',
  'z-threshold': 'report.zThreshold',
  'battery-threshold': 'report.batteryThreshold',
  'inactive-minutes': 'report.inactiveMinutes',
  limit: 'report.anomalyLimit',
} as const;

/** Unknown flags and missing values are configuration mistakes: ConfigError with the usage. */
export function parseArgs(argv: string[]): AnalyticsArgs {
  let values;
  try {
    values = parseNodeArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(NUMERIC_FLAGS).map((f) => [f, { type: 'string' as const }])),
        device: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new ConfigError([{ key: 'analytics arguments', message: `${(err as Error).message}\n${USAGE}` }]);
  }
  const overrides: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(NUMERIC_FLAGS)) {
    const value = values[flag];
    if (typeof value === 'string') overrides[key] = Number(value); // 'abc' → NaN, which the schema refuses
  }
  if (values.device === '') throw new ConfigError([{ key: '--device', message: 'must be a device id' }]);
  return {
    help: values.help === true,
    json: values.json === true,
    deviceId: typeof values.device === 'string' ? values.device : undefined,
    overrides,
  };
}
