import { Alert, Reading } from '../schemas';
import { CopyBinaryWriter } from './copy-format';
import { firstOfEachIdentity } from './distinct';
import { ALERT_STAGING_COLUMNS, encodeAlert, encodeReading, TELEMETRY_STAGING_COLUMNS } from './rows';

/**
 * How one record type lands in its table: the batch's first record of each identity
 * (`distinct`), binary COPY into a per-connection staging table, then one plain
 * `INSERT … SELECT … ON CONFLICT DO NOTHING` into the table, so identities stored by an
 * earlier batch are skipped and row triggers and statement triggers (transition tables)
 * see exactly the rows inserted. Rows go in identity order, by the insert's ORDER BY and, on
 * the plain-COPY path, by sorting before the COPY: two writers racing over the same readings
 * (a rebalance, a redelivery) then wait for each other's identities in one order and cannot
 * deadlock; in arrival order they did (40P01, about one run in three of
 * test/db-rollups.test.ts).
 */
export interface TableSpec<T> {
  name: string;
  stagingTable: string;
  createStaging: string;
  copyColumns: string[];
  distinct: (records: readonly T[]) => readonly T[];
  encodeRow: (w: CopyBinaryWriter, record: T) => void;
  insertNew: string;
  /**
   * Plain COPY into the table itself, for a batch whose identities are all new: possible when
   * the staging columns are the table's own, with the same binary types. COPY takes rows as
   * sent, so they are sent in identity order, the one the staging insert's ORDER BY gives.
   */
  copyInto?: { statement: string; inIdentityOrder: (records: readonly T[]) => T[] };
}

export const telemetryTable: TableSpec<Reading> = {
  name: 'device_telemetry',
  stagingTable: 'device_telemetry_staging',
  createStaging: `CREATE TEMP TABLE IF NOT EXISTS device_telemetry_staging (
      time timestamptz NOT NULL, device_id text NOT NULL, firmware text,
      temperature double precision, humidity double precision, battery double precision
    ) ON COMMIT DELETE ROWS`,
  copyColumns: TELEMETRY_STAGING_COLUMNS,
  distinct: (readings) => {
    // device → instants seen: no identity string built per reading.
    const seen = new Map<string, Set<number>>();
    return firstOfEachIdentity(readings, (r) => {
      let times = seen.get(r.device_id);
      if (!times) seen.set(r.device_id, (times = new Set()));
      if (times.has(r.time)) return false;
      times.add(r.time);
      return true;
    });
  },
  encodeRow: encodeReading,
  copyInto: {
    statement: `COPY device_telemetry (${TELEMETRY_STAGING_COLUMNS.join(',')}) FROM STDIN (FORMAT binary)`,
    // (device_id, time DESC), device ids by code unit: what ORDER BY device_id COLLATE "C" gives
    inIdentityOrder: (readings) =>
      [...readings].sort((a, b) => (a.device_id < b.device_id ? -1 : a.device_id > b.device_id ? 1 : b.time - a.time)),
  },
  insertNew: `INSERT INTO device_telemetry (time, device_id, firmware, temperature, humidity, battery)
    SELECT time, device_id, firmware, temperature, humidity, battery FROM device_telemetry_staging
    ORDER BY device_id COLLATE "C", time DESC
    ON CONFLICT DO NOTHING`,
};

export const alertTable: TableSpec<Alert> = {
  name: 'device_alerts',
  stagingTable: 'device_alerts_staging',
  createStaging: `CREATE TEMP TABLE IF NOT EXISTS device_alerts_staging (
      alert_id text NOT NULL, device_id text NOT NULL, kind text NOT NULL, metric text,
      value double precision, mean double precision, stddev double precision, z double precision,
      threshold double precision, reading_time timestamptz NOT NULL, detected_at timestamptz NOT NULL, details text
    ) ON COMMIT DELETE ROWS`,
  copyColumns: ALERT_STAGING_COLUMNS,
  distinct: (alerts) => {
    const seen = new Set<string>();
    return firstOfEachIdentity(alerts, (a) => {
      if (seen.has(a.alert_id)) return false;
      seen.add(a.alert_id);
      return true;
    });
  },
  // no copyInto: details is staged as text and becomes jsonb in the insert
  encodeRow: encodeAlert,
  insertNew: `INSERT INTO device_alerts (alert_id, device_id, kind, metric, value, mean, stddev, z, threshold,
                                         reading_time, detected_at, details)
    SELECT alert_id, device_id, kind, metric, value, mean, stddev, z, threshold, reading_time, detected_at, details::jsonb
      FROM device_alerts_staging
    ORDER BY alert_id
    ON CONFLICT DO NOTHING`,
};
