import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type { Reading, StoredReading, TelemetryRow } from './reading';
export { storedReadingOf } from './reading';

export type AlertKind = 'anomaly' | 'stuck_sensor' | 'low_battery' | 'device_inactive' | 'device_recovered' | 'data_gap';

/** An alert, as produced to `iot.alerts.v1` (schemas/alert.avsc). */
export interface Alert {
  alert_id: string;
  device_id: string;
  kind: AlertKind;
  metric: string | null;
  value: number | null;
  mean: number | null;
  stddev: number | null;
  z: number | null;
  threshold: number | null;
  /** Time of the reading that raised it, µs since the epoch. */
  reading_time: number;
  /** ms since the epoch. */
  detected_at: number;
  /** JSON text with kind-specific facts. */
  details: string | null;
}

function load(name: string): string {
  // The .avsc files stay next to the compiled code too (copied by the build).
  return readFileSync(join(__dirname, name), 'utf8');
}

export const telemetrySchemaText = load('telemetry.avsc');
export const alertSchemaText = load('alert.avsc');
