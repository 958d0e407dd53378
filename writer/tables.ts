import { Alert, Reading } from '../schemas';
import { ALERT_STAGING_COLUMNS, alertCopyRow, TELEMETRY_STAGING_COLUMNS, telemetryCopyRow } from './rows';

/**
 * How one record type lands in its table: COPY into a per-connection staging table, then
 * one INSERT of what is new by identity. `ord` keeps Kafka order so that of two records
 * with the same identity in one batch the first wins, as it does across batches.
 */
export interface TableSpec<T> {
  name: string;
  stagingTable: string;
  createStaging: string;
  copyColumns: string[];
  copyRow: (record: T, ord: number) => string;
  insertNew: string;
}

export const telemetryTable: TableSpec<Reading> = {
  name: 'device_telemetry',
  stagingTable: 'device_telemetry_staging',
  createStaging: `CREATE TEMP TABLE IF NOT EXISTS device_telemetry_staging (
      ord integer NOT NULL, time_us bigint NOT NULL, device_id text NOT NULL, firmware text,
      temperature double precision, humidity double precision, battery double precision
    ) ON COMMIT DELETE ROWS`,
  copyColumns: TELEMETRY_STAGING_COLUMNS,
  copyRow: telemetryCopyRow,
  insertNew: `INSERT INTO device_telemetry (time, device_id, firmware, temperature, humidity, battery)
    SELECT DISTINCT ON (device_id, time_us)
           timestamptz 'epoch' + time_us * interval '1 microsecond', device_id, firmware, temperature, humidity, battery
      FROM device_telemetry_staging
     ORDER BY device_id, time_us, ord
    ON CONFLICT DO NOTHING`,
};

export const alertTable: TableSpec<Alert> = {
  name: 'device_alerts',
  stagingTable: 'device_alerts_staging',
  createStaging: `CREATE TEMP TABLE IF NOT EXISTS device_alerts_staging (
      ord integer NOT NULL, alert_id text NOT NULL, device_id text NOT NULL, kind text NOT NULL, metric text,
      value double precision, mean double precision, stddev double precision, z double precision,
      threshold double precision, reading_time_us bigint NOT NULL, detected_at_ms bigint NOT NULL, details text
    ) ON COMMIT DELETE ROWS`,
  copyColumns: ALERT_STAGING_COLUMNS,
  copyRow: alertCopyRow,
  insertNew: `INSERT INTO device_alerts (alert_id, device_id, kind, metric, value, mean, stddev, z, threshold,
                                         reading_time, detected_at, details)
    SELECT DISTINCT ON (alert_id)
           alert_id, device_id, kind, metric, value, mean, stddev, z, threshold,
           timestamptz 'epoch' + reading_time_us * interval '1 microsecond',
           timestamptz 'epoch' + detected_at_ms * interval '1 millisecond', details::jsonb
      FROM device_alerts_staging
     ORDER BY alert_id, ord
    ON CONFLICT DO NOTHING`,
};
