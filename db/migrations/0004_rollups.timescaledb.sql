-- 1-minute and 1-hour rollups for dashboards and long-range analytics, as continuous
-- aggregates. materialized_only = false: queries add the not yet materialized recent buckets
-- from the raw table (real-time aggregation). Refresh policies are applied by migrate.

CREATE MATERIALIZED VIEW device_telemetry_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', time) AS bucket,
       device_id,
       avg(temperature) AS avg_temperature,
       min(temperature) AS min_temperature,
       max(temperature) AS max_temperature,
       avg(humidity)    AS avg_humidity,
       min(humidity)    AS min_humidity,
       max(humidity)    AS max_humidity,
       avg(battery)     AS avg_battery,
       min(battery)     AS min_battery,
       max(battery)     AS max_battery,
       count(*)         AS reading_count
FROM device_telemetry
GROUP BY bucket, device_id
WITH NO DATA;

CREATE MATERIALIZED VIEW device_telemetry_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
       device_id,
       avg(temperature) AS avg_temperature,
       min(temperature) AS min_temperature,
       max(temperature) AS max_temperature,
       avg(humidity)    AS avg_humidity,
       min(humidity)    AS min_humidity,
       max(humidity)    AS max_humidity,
       avg(battery)     AS avg_battery,
       min(battery)     AS min_battery,
       max(battery)     AS max_battery,
       count(*)         AS reading_count
FROM device_telemetry
GROUP BY bucket, device_id
WITH NO DATA;
