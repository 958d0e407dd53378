import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A validated device reading, as produced to `iot.telemetry.v1` (schemas/telemetry.avsc). */
export interface Reading {
  device_id: string;
  /** Device time in microseconds since the epoch; with device_id, the reading's identity. */
  time: number;
  firmware: string | null;
  temperature: number | null;
  humidity: number | null;
  battery: number | null;
  seq: number | null;
  /** Bridge receive time, ms since the epoch. */
  ingested_at: number;
}

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
