import { Alert, Reading } from '../schemas';
import { copyNumber, copyText } from './copy-format';

/**
 * The staging table takes device time as integer microseconds, so the conversion to
 * timestamptz happens in SQL with exact integer arithmetic (no float rounding that could
 * change a reading's identity).
 */
export const TELEMETRY_STAGING_COLUMNS = ['ord', 'time_us', 'device_id', 'firmware', 'temperature', 'humidity', 'battery'];

export function telemetryCopyRow(reading: Reading, ord: number): string {
  return (
    ord +
    '\t' +
    reading.time +
    '\t' +
    copyText(reading.device_id) +
    '\t' +
    copyText(reading.firmware) +
    '\t' +
    copyNumber(reading.temperature) +
    '\t' +
    copyNumber(reading.humidity) +
    '\t' +
    copyNumber(reading.battery) +
    '\n'
  );
}

export const ALERT_STAGING_COLUMNS = [
  'ord', 'alert_id', 'device_id', 'kind', 'metric', 'value', 'mean', 'stddev', 'z', 'threshold',
  'reading_time_us', 'detected_at_ms', 'details',
];

export function alertCopyRow(alert: Alert, ord: number): string {
  return [
    String(ord),
    copyText(alert.alert_id),
    copyText(alert.device_id),
    copyText(alert.kind),
    copyText(alert.metric),
    copyNumber(alert.value),
    copyNumber(alert.mean),
    copyNumber(alert.stddev),
    copyNumber(alert.z),
    copyNumber(alert.threshold),
    String(alert.reading_time),
    String(alert.detected_at),
    copyText(alert.details),
  ].join('\t') + '\n';
}
