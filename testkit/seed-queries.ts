import type { TelemetryRow } from '../schemas';

/**
 * The reference queries: SQL statements that must run unchanged on the migrated schema of
 * either engine (latest readings, per-device statistics, 5-minute temperature trends, device
 * health, z-score anomalies), kept byte for byte as the original SQL examples wrote them, plus a
 * fixture of readings and the results those statements must return for it. Used by
 * test/db-schema.test.ts and test/db-migrate.test.ts (the real PostgreSQL) and bench/queries.ts.
 * No test framework here: callers assert.
 */
export const SEED_SQL = {
  /** latest readings */
  latest: `SELECT * FROM device_telemetry ORDER BY time DESC LIMIT 10;`,
  /** device statistics (two columns are both named avg: read rows as arrays) */
  deviceStatistics: `SELECT device_id, COUNT(*), AVG(temperature), AVG(battery)
FROM device_telemetry
WHERE time > NOW() - INTERVAL '1 hour'
GROUP BY device_id;`,
  /** temperature trends (5-minute buckets) */
  temperatureTrends: `SELECT
    time_bucket('5 minutes', time) AS bucket,
    device_id,
    AVG(temperature) as avg_temp,
    MAX(temperature) as max_temp,
    MIN(temperature) as min_temp
FROM device_telemetry
WHERE time > NOW() - INTERVAL '24 hours'
GROUP BY bucket, device_id
ORDER BY bucket DESC;`,
  /** device health summary */
  deviceHealth: `SELECT
    device_id,
    MAX(time) as last_seen,
    COUNT(*) as message_count,
    AVG(battery) as avg_battery,
    MIN(battery) as min_battery
FROM device_telemetry
WHERE time > NOW() - INTERVAL '1 hour'
GROUP BY device_id
ORDER BY min_battery ASC;`,
  /** anomaly detection */
  anomalies: `WITH stats AS (
    SELECT
        device_id,
        AVG(temperature) as mean,
        STDDEV(temperature) as stddev
    FROM device_telemetry
    WHERE time > NOW() - INTERVAL '24 hours'
    GROUP BY device_id
)
SELECT t.*, s.mean, s.stddev,
       ABS(t.temperature - s.mean) / s.stddev as z_score
FROM device_telemetry t
JOIN stats s ON t.device_id = s.device_id
WHERE ABS(t.temperature - s.mean) > 2 * s.stddev
ORDER BY time DESC;`,
} as const;

export type SeedQuery = keyof typeof SEED_SQL;

/** A result read with rowMode 'array' (column names may repeat). */
export interface ArrayResult {
  fields: string[];
  rows: unknown[][];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Three devices: a reading a minute for the last 40 minutes, one every 10 minutes around three
 * hours ago, a few two days ago (outside every window), one outlier (device-001 at 80 °C, 20
 * minutes ago) and one reading without temperature and humidity. Every reading is at least 30 s
 * away from a window edge, so the database's NOW() a few seconds later sees the same sets.
 */
export function fixtureReadings(now: number = Date.now()): { now: number; readings: TelemetryRow[]; outlier: TelemetryRow } {
  const readings: TelemetryRow[] = [];
  const devices = ['device-001', 'device-002', 'device-003'];
  const temp = (i: number, k: number) => 21 + ((i * 7 + k) % 5) * 0.3;
  devices.forEach((device_id, k) => {
    const at = (ms: number) => new Date(now - ms - k * 7000);
    for (let i = 0; i < 40; i++) {
      readings.push({
        time: at(i * MINUTE + 30_000),
        device_id,
        firmware: '1.0.0',
        temperature: temp(i, k),
        humidity: 55 + k,
        battery: 90 - k * 35 - i * 0.1,
      });
    }
    for (let i = 0; i < 12; i++) {
      readings.push({
        time: at(3 * HOUR + i * 10 * MINUTE),
        device_id,
        firmware: '0.9.0',
        temperature: temp(i + 3, k),
        humidity: 50,
        battery: 95 - k * 30,
      });
    }
    for (let i = 0; i < 5; i++) {
      readings.push({
        time: at(48 * HOUR + i * HOUR),
        device_id,
        firmware: '0.9.0',
        temperature: temp(i + 1, k),
        humidity: 45,
        battery: 99,
      });
    }
  });
  const outlier: TelemetryRow = {
    time: new Date(now - 20 * MINUTE - 45_000),
    device_id: 'device-001',
    firmware: '1.0.0',
    temperature: 80,
    humidity: 55,
    battery: 88,
  };
  readings.push(outlier);
  readings.push({
    time: new Date(now - 5 * MINUTE - 45_000),
    device_id: 'device-003',
    firmware: '1.0.0',
    temperature: null,
    humidity: null,
    battery: 19,
  });
  return { now, readings, outlier };
}

/** One INSERT for many readings; identities already stored are skipped, as the writer does. */
export function insertReadings(readings: TelemetryRow[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const tuples = readings.map((r) => {
    values.push(r.time.toISOString(), r.device_id, r.firmware, r.temperature, r.humidity, r.battery);
    const n = values.length;
    return `($${n - 5}::timestamptz, $${n - 4}, $${n - 3}, $${n - 2}::float8, $${n - 1}::float8, $${n}::float8)`;
  });
  return {
    text: `INSERT INTO device_telemetry (time, device_id, firmware, temperature, humidity, battery) VALUES ${tuples.join(', ')}
           ON CONFLICT (device_id, time) DO NOTHING`,
    values,
  };
}

const round = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 1e6) / 1e6);
// Not instanceof: a Date from another realm (a worker thread, jest's sandbox) is still a Date.
const isDate = (v: unknown): v is Date => Object.prototype.toString.call(v) === '[object Date]';
const iso = (v: unknown): string => (isDate(v) ? v : new Date(String(v))).toISOString();
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
function stddev(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs) as number;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
const temps = (rs: TelemetryRow[]) => rs.map((r) => r.temperature).filter((t): t is number => t !== null);
const bats = (rs: TelemetryRow[]) => rs.map((r) => r.battery).filter((t): t is number => t !== null);
function byDevice(rs: TelemetryRow[]): Map<string, TelemetryRow[]> {
  const m = new Map<string, TelemetryRow[]>();
  for (const r of rs) m.set(r.device_id, [...(m.get(r.device_id) ?? []), r]);
  return m;
}

/** What each reference query must return for `readings`, in the normalised form of normalizeResult. */
export function expectedResults(readings: TelemetryRow[], now: number): Record<SeedQuery, unknown[]> {
  const lastHour = readings.filter((r) => r.time.getTime() > now - HOUR);
  const lastDay = readings.filter((r) => r.time.getTime() > now - 24 * HOUR);

  const latest = [...readings]
    .sort((a, b) => b.time.getTime() - a.time.getTime())
    .slice(0, 10)
    .map((r) => [iso(r.time), r.device_id, r.firmware, round(r.temperature), round(r.humidity), round(r.battery)]);

  const deviceStatistics = [...byDevice(lastHour)]
    .map(([d, rs]) => [d, rs.length, round(mean(temps(rs))), round(mean(bats(rs)))])
    .sort(compareRows);

  const buckets = new Map<string, TelemetryRow[]>();
  for (const r of lastDay) {
    const key = `${new Date(Math.floor(r.time.getTime() / (5 * MINUTE)) * 5 * MINUTE).toISOString()}|${r.device_id}`;
    buckets.set(key, [...(buckets.get(key) ?? []), r]);
  }
  const temperatureTrends = [...buckets]
    .map(([key, rs]) => {
      const [bucket, device] = key.split('|');
      const ts = temps(rs);
      return [bucket, device, round(mean(ts)), ts.length ? round(Math.max(...ts)) : null, ts.length ? round(Math.min(...ts)) : null];
    })
    .sort(compareRows)
    .reverse();

  const deviceHealth = [...byDevice(lastHour)]
    .map(([d, rs]) => [
      d,
      iso(new Date(Math.max(...rs.map((r) => r.time.getTime())))),
      rs.length,
      round(mean(bats(rs))),
      round(Math.min(...bats(rs))),
    ])
    .sort((a, b) => (a[4] as number) - (b[4] as number));

  const stats = new Map([...byDevice(lastDay)].map(([d, rs]) => [d, { mean: mean(temps(rs)), sd: stddev(temps(rs)) }]));
  const anomalies = readings
    .filter((r) => {
      const s = stats.get(r.device_id);
      return s && s.mean !== null && s.sd !== null && r.temperature !== null && Math.abs(r.temperature - s.mean) > 2 * s.sd;
    })
    .sort((a, b) => b.time.getTime() - a.time.getTime())
    .map((r) => {
      const s = stats.get(r.device_id) as { mean: number; sd: number };
      return [
        iso(r.time),
        r.device_id,
        r.firmware,
        round(r.temperature),
        round(r.humidity),
        round(r.battery),
        round(s.mean),
        round(s.sd),
        round(Math.abs((r.temperature as number) - s.mean) / s.sd),
      ];
    });

  return { latest, deviceStatistics, temperatureTrends, deviceHealth, anomalies };
}

function compareRows(a: unknown[], b: unknown[]): number {
  const ka = JSON.stringify(a.slice(0, 2));
  const kb = JSON.stringify(b.slice(0, 2));
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Column names each statement must return, in order. */
export const EXPECTED_FIELDS: Record<SeedQuery, string[]> = {
  latest: ['time', 'device_id', 'firmware', 'temperature', 'humidity', 'battery'],
  deviceStatistics: ['device_id', 'count', 'avg', 'avg'],
  temperatureTrends: ['bucket', 'device_id', 'avg_temp', 'max_temp', 'min_temp'],
  deviceHealth: ['device_id', 'last_seen', 'message_count', 'avg_battery', 'min_battery'],
  anomalies: ['time', 'device_id', 'firmware', 'temperature', 'humidity', 'battery', 'mean', 'stddev', 'z_score'],
};

/**
 * Puts what the database returned in the form of expectedResults: timestamps as ISO strings,
 * numbers rounded to 6 places, counts as numbers; rows the statement leaves unordered are sorted.
 */
export function normalizeResult(query: SeedQuery, result: ArrayResult): unknown[] {
  const rows = result.rows.map((row) =>
    row.map((v, i) => {
      const field = result.fields[i];
      if (isDate(v) || field === 'time' || field === 'bucket' || field === 'last_seen') return v === null ? null : iso(v);
      if (field === 'device_id' || field === 'firmware') return v;
      return round(v);
    }),
  );
  if (query === 'deviceStatistics') rows.sort(compareRows);
  // ORDER BY bucket DESC leaves devices within a bucket in any order.
  if (query === 'temperatureTrends') rows.sort(compareRows).reverse();
  return rows;
}
