/**
 * A reading at each boundary it crosses, and the conversions between them, kept together so
 * their time units and casing are stated once:
 * - `Reading`: on the Kafka telemetry topic, from the bridge to the writer and the detector;
 * - `TelemetryRow`: a row of the device_telemetry table, as written and as node-postgres reads it;
 * - `StoredReading`: a stored reading as the analytics API returns it (camelCase, as the rest
 *   of that API).
 */

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

/** A row of device_telemetry: the table's column names; the time a Date (ms precision in JavaScript). */
export interface TelemetryRow {
  time: Date;
  device_id: string;
  firmware: string | null;
  temperature: number | null;
  humidity: number | null;
  battery: number | null;
}

/** A stored reading as the analytics API returns it. */
export interface StoredReading {
  time: Date;
  deviceId: string;
  firmware: string | null;
  temperature: number | null;
  humidity: number | null;
  battery: number | null;
}

// A numeric expression (an aggregate, a cast) comes back from node-postgres as a string.
const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A device_telemetry row, or a query row with its columns, as the analytics API returns it. */
export function storedReadingOf(row: Record<string, unknown>): StoredReading {
  return {
    time: row.time as Date,
    deviceId: row.device_id as string,
    firmware: row.firmware as string | null,
    temperature: numberOrNull(row.temperature),
    humidity: numberOrNull(row.humidity),
    battery: numberOrNull(row.battery),
  };
}
