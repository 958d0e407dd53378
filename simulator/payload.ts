import type { SimReading } from './device';

/**
 * How the `timestamp` field is written. The example payload has whole epoch seconds; the default
 * keeps millisecond precision as fractional seconds so readings a few ms apart stay distinct.
 */
export const TIMESTAMP_FORMATS = ['s.ms', 's', 'ms', 'iso'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];

/** Precision, in ms, that a format can carry; the model rounds device times to it. */
export function precisionMs(format: TimestampFormat): number {
  return format === 's' ? 1000 : 1;
}

export function formatTimestamp(timeMs: number, format: TimestampFormat): number | string {
  switch (format) {
    case 's.ms':
      return timeMs / 1000;
    case 's':
      return Math.round(timeMs / 1000);
    case 'ms':
      return timeMs;
    case 'iso':
      return new Date(timeMs).toISOString();
  }
}

/**
 * The device JSON payload (plus `seq` when asked), fields in the order of the example payload. Written by hand
 * rather than JSON.stringify of an object: it runs once per reading and this is twice as fast;
 * the ids and firmware strings still go through JSON.stringify for escaping.
 */
export function encodePayload(reading: SimReading, format: TimestampFormat, withSeq: boolean): string {
  const ts = format === 'iso' ? `"${new Date(reading.timeMs).toISOString()}"` : String(formatTimestamp(reading.timeMs, format));
  const seq = withSeq ? `,"seq":${reading.seq}` : '';
  return (
    `{"device_id":${JSON.stringify(reading.device_id)},"firmware":${JSON.stringify(reading.firmware)}` +
    `,"temperature":${reading.temperature},"humidity":${reading.humidity},"battery":${reading.battery}` +
    `,"timestamp":${ts}${seq}}`
  );
}

/** MQTT topic of a reading: the shared topic, or the device's own (`devices/<id>/telemetry`). */
export function topicFor(deviceId: string, sharedTopic: string, perDevice: boolean): string {
  return perDevice ? `devices/${deviceId}/telemetry` : sharedTopic;
}
