import type { RollupView } from './rollup';

/**
 * The analytics SQL. Every value comes in as a parameter; the only text composed here is from
 * the constant lists below (metric and view names), never from input. `$n::float8 * interval`
 * turns a number of hours or minutes into an interval without building interval text.
 */
export const METRICS = ['temperature', 'humidity', 'battery'] as const;
export type Metric = (typeof METRICS)[number];

const SINCE_HOURS = (p: number) => `now() - $${p}::float8 * interval '1 hour'`;
const DEVICE_FILTER = (p: number, column = 'device_id') => `($${p}::text IS NULL OR ${column} = $${p})`;

/** Newest device time first: the identity index (device_id, time DESC) answers it directly. */
export const LATEST_READINGS = `SELECT time, device_id, firmware, temperature, humidity, battery
FROM device_telemetry
WHERE device_id = $1
ORDER BY time DESC
LIMIT $2`;

/** $1 hours, $2 device or null. STDDEV is the sample standard deviation, as in the reference queries. */
export const DEVICE_STATISTICS = `SELECT device_id,
       count(*) AS readings,
       min(time) AS first_seen,
       max(time) AS last_seen,
${METRICS.map((m) => `       avg(${m}) AS ${m}_avg, min(${m}) AS ${m}_min, max(${m}) AS ${m}_max, stddev(${m}) AS ${m}_stddev, count(${m}) AS ${m}_count`).join(',\n')}
FROM device_telemetry
WHERE time > ${SINCE_HOURS(1)} AND ${DEVICE_FILTER(2)}
GROUP BY device_id
ORDER BY device_id`;

/**
 * The readings of a window `now() − $p hours .. now()` as parts whose counts, sums and sums of
 * squares add up to exactly the window's: the 1-hour rollup for the window's whole hours, the
 * 1-minute rollup for the whole minutes before the first of those, the raw table only for the
 * partial first minute. So a window statistic reads about 1 row a device-hour instead of every
 * reading. Columns: device_id, readings, then per metric <m>_n, <m>_sum, <m>_sumsq.
 */
const FIRST_WHOLE = (unit: 'minute' | 'hour', p: number) => `(time_bucket(interval '1 ${unit}', ${SINCE_HOURS(p)}) + interval '1 ${unit}')`;
function windowParts(p: number, deviceFilter: (column: string) => string): string {
  const columns = ['device_id', 'readings', ...METRICS.flatMap((m) => [`${m}_n`, `${m}_sum`, `${m}_sumsq`])].join(', ');
  const rollup = METRICS.map((m) => `r.${m}_count, r.${m}_sum, r.${m}_sumsq`).join(', ');
  const raw = METRICS.map((m) => `(t.${m} IS NOT NULL)::int, t.${m}, t.${m} * t.${m}`).join(', ');
  // the bounds written out, not joined from a CTE: stable expressions are what lets the planner
  // use the rollups' bucket indexes and skip chunks
  return `window_parts (${columns}) AS (
    SELECT r.device_id, r.reading_count, ${rollup}
    FROM device_telemetry_1h r
    WHERE r.bucket >= ${FIRST_WHOLE('hour', p)} AND ${deviceFilter('r.device_id')}
    UNION ALL
    SELECT r.device_id, r.reading_count, ${rollup}
    FROM device_telemetry_1m r
    WHERE r.bucket >= ${FIRST_WHOLE('minute', p)} AND r.bucket < ${FIRST_WHOLE('hour', p)} AND ${deviceFilter('r.device_id')}
    UNION ALL
    SELECT t.device_id, 1, ${raw}
    FROM device_telemetry t
    WHERE t.time > ${SINCE_HOURS(p)} AND t.time < ${FIRST_WHOLE('minute', p)} AND ${deviceFilter('t.device_id')}
)`;
}

/**
 * The reference anomaly question (readings more than $1 sample standard deviations from their
 * device's mean over the window) without two scans of every raw reading: each device's mean and
 * standard deviation come from the window's parts (windowParts, exact), then only the hours
 * whose minimum or maximum lies beyond the threshold are read back from the raw table, through
 * the identity index. The same rows as the reference query in testkit/seed-queries.ts (limited to the window;
 * that one judges all history). now() is fixed for the statement. $1 threshold, $2 hours, $3 device or
 * null, $4 limit.
 */
export const TEMPERATURE_ANOMALIES = `WITH ${windowParts(2, (c) => DEVICE_FILTER(3, c))}, stats AS (
    SELECT device_id, sum(temperature_sum) / sum(temperature_n) AS mean,
           sqrt(greatest(sum(temperature_sumsq) - sum(temperature_sum) * sum(temperature_sum) / sum(temperature_n), 0)
                / nullif(sum(temperature_n) - 1, 0)) AS stddev
    FROM window_parts
    GROUP BY device_id
    HAVING sum(temperature_n) > 0
), suspect_hours AS MATERIALIZED (
    SELECT r.device_id, r.bucket, s.mean, s.stddev
    FROM device_telemetry_1h r JOIN stats s ON s.device_id = r.device_id
    WHERE r.bucket > ${SINCE_HOURS(2)} - interval '1 hour' AND ${DEVICE_FILTER(3, 'r.device_id')}
      AND (r.max_temperature - s.mean > $1::float8 * s.stddev OR s.mean - r.min_temperature > $1::float8 * s.stddev)
)
SELECT t.time, t.device_id, t.firmware, t.temperature, t.humidity, t.battery, h.mean, h.stddev,
       count(*) OVER () AS total
FROM suspect_hours h,
     LATERAL (
       -- one range of the identity index per suspect hour (OFFSET 0 keeps the planner from
       -- flattening this into a join that reads every reading of the window)
       SELECT r.time, r.device_id, r.firmware, r.temperature, r.humidity, r.battery
       FROM device_telemetry r
       WHERE r.device_id = h.device_id AND r.time >= h.bucket AND r.time < h.bucket + interval '1 hour'
         AND r.time > ${SINCE_HOURS(2)} AND abs(r.temperature - h.mean) > $1::float8 * h.stddev
       OFFSET 0
     ) t
ORDER BY t.time DESC, t.device_id
LIMIT $4`;

/**
 * Every device that has a reading, by a loose index scan of the identity index (one index probe
 * per device instead of reading every row), then each device's newest reading by device time.
 */
function latestPerDevice(extraCondition = ''): string {
  return `WITH RECURSIVE devices(device_id) AS (
    (SELECT device_id FROM device_telemetry ORDER BY device_id LIMIT 1)
    UNION ALL
    SELECT (SELECT t.device_id FROM device_telemetry t WHERE t.device_id > d.device_id ORDER BY t.device_id LIMIT 1)
    FROM devices d
    WHERE d.device_id IS NOT NULL
)
SELECT d.device_id, l.time, l.battery
FROM devices d
CROSS JOIN LATERAL (
    SELECT t.time, t.battery FROM device_telemetry t
    WHERE t.device_id = d.device_id${extraCondition}
    ORDER BY t.time DESC
    LIMIT 1
) l
WHERE d.device_id IS NOT NULL`;
}

/** Devices whose newest battery reading is below $1: a device that was low and recharged is not. */
export const LOW_BATTERY = `${latestPerDevice(' AND t.battery IS NOT NULL')}
  AND l.battery < $1::float8
ORDER BY l.battery, d.device_id`;

/** Devices whose newest reading is older than $1 minutes. */
export const INACTIVE_DEVICES = `SELECT device_id, time AS last_seen, extract(epoch FROM now() - time) / 60 AS silent_minutes
FROM (${latestPerDevice()}) latest
WHERE time < now() - $1::float8 * interval '1 minute'
ORDER BY time, device_id`;

/**
 * Fleet figures over the window: devices, readings and means from the window's parts
 * (windowParts, exact), the first and last reading through the time index. $1 hours.
 */
export const FLEET_SUMMARY = `WITH ${windowParts(1, () => 'true')}
SELECT count(DISTINCT device_id) AS devices,
       sum(readings) AS readings,
       (SELECT min(time) FROM device_telemetry WHERE time > ${SINCE_HOURS(1)}) AS first_reading,
       (SELECT max(time) FROM device_telemetry WHERE time > ${SINCE_HOURS(1)}) AS last_reading,
${METRICS.map((m) => `       sum(${m}_sum) / nullif(sum(${m}_n), 0) AS ${m}_avg`).join(',\n')}
FROM window_parts`;

const BUCKET_AGGREGATES = METRICS.map((m) => `avg(${m}) AS ${m}_avg, min(${m}) AS ${m}_min, max(${m}) AS ${m}_max`).join(',\n       ');

/**
 * A time series from the raw table. The range is widened to whole buckets: it starts at the
 * bucket holding now() − $2 hours, so the first bucket is complete and a rollup gives the same
 * buckets. $1 width, $2 hours, $3 device or null.
 */
export const TIME_SERIES_RAW = `SELECT time_bucket($1::interval, time) AS bucket, device_id, count(*) AS readings,
       ${BUCKET_AGGREGATES}
FROM device_telemetry
WHERE time >= time_bucket($1::interval, ${SINCE_HOURS(2)}) AND ${DEVICE_FILTER(3)}
GROUP BY 1, 2
ORDER BY 1 DESC, 2`;

/**
 * A time series from a rollup, re-bucketed to the requested width exactly on both engines:
 * counts and per-metric sums add up, min/max combine, and a mean is sum(x_sum) / sum(x_count)
 * over the readings that have the metric. Both rollups are current to the newest reading (the
 * plain-PostgreSQL trigger; TimescaleDB's real-time aggregation of what is not materialized
 * yet), so every bucket comes from the rollup. $1 width, $2 hours, $3 device or null.
 */
function timeSeriesFromRollup(view: RollupView): string {
  const combined = METRICS.map(
    (m) => `sum(${m}_sum) / nullif(sum(${m}_count), 0) AS ${m}_avg, min(min_${m}) AS ${m}_min, max(max_${m}) AS ${m}_max`,
  ).join(',\n       ');
  return `SELECT time_bucket($1::interval, bucket) AS bucket, device_id, sum(reading_count) AS readings,
       ${combined}
FROM ${view}
WHERE bucket >= time_bucket($1::interval, ${SINCE_HOURS(2)}) AND ${DEVICE_FILTER(3)}
GROUP BY 1, 2
ORDER BY 1 DESC, 2`;
}

export const TIME_SERIES_ROLLUP: Record<RollupView, string> = {
  device_telemetry_1m: timeSeriesFromRollup('device_telemetry_1m'),
  device_telemetry_1h: timeSeriesFromRollup('device_telemetry_1h'),
};
