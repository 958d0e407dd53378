import { Alert, Reading } from '../schemas';
import { CopyBinaryWriter } from './copy-format';

/**
 * The staging tables have the target's own column types, so the insert moves values without
 * conversion. Device time goes over the wire as integer microseconds (binary timestamptz is
 * exactly that), so no float rounding can change a reading's identity.
 */
export const TELEMETRY_STAGING_COLUMNS = ['time', 'device_id', 'firmware', 'temperature', 'humidity', 'battery'];

export function encodeReading(w: CopyBinaryWriter, reading: Reading): void {
  w.row(6);
  w.timestamptz(reading.time);
  w.text(reading.device_id);
  w.text(reading.firmware);
  w.float8(reading.temperature);
  w.float8(reading.humidity);
  w.float8(reading.battery);
}

export const ALERT_STAGING_COLUMNS = [
  'alert_id',
  'device_id',
  'kind',
  'metric',
  'value',
  'mean',
  'stddev',
  'z',
  'threshold',
  'reading_time',
  'detected_at',
  'details',
];

export function encodeAlert(w: CopyBinaryWriter, alert: Alert): void {
  w.row(12);
  w.text(alert.alert_id);
  w.text(alert.device_id);
  w.text(alert.kind);
  w.text(alert.metric);
  w.float8(alert.value);
  w.float8(alert.mean);
  w.float8(alert.stddev);
  w.float8(alert.z);
  w.float8(alert.threshold);
  w.timestamptz(alert.reading_time);
  w.timestamptz(alert.detected_at * 1000);
  w.text(alert.details); // staged as text, cast to jsonb by the insert
}
