-- 1-minute and 1-hour rollups for dashboards and long-range analytics, as continuous
-- aggregates. materialized_only = false: queries add the not yet materialized recent buckets
-- from the raw table (real-time aggregation). Refresh policies are applied by migrate.
-- The columns are those of the plain-PostgreSQL rollups (0007), in the same order: averages,
-- minima and maxima, the reading count, per metric the readings that have it and their sum,
-- then per metric the sum of squares: a mean over wider buckets is exact,
-- sum(x_sum) / sum(x_count), and so is a standard deviation (analytics/queries.ts).

CREATE MATERIALIZED VIEW device_telemetry_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', time) AS bucket,
       device_id,
       avg(temperature) AS avg_temperature,
       min(temperature) AS min_temperature,
       max(temperature) AS max_temperature,
       avg(humidity) AS avg_humidity,
       min(humidity) AS min_humidity,
       max(humidity) AS max_humidity,
       avg(battery) AS avg_battery,
       min(battery) AS min_battery,
       max(battery) AS max_battery,
       count(*) AS reading_count,
       count(temperature) AS temperature_count,
       sum(temperature) AS temperature_sum,
       count(humidity) AS humidity_count,
       sum(humidity) AS humidity_sum,
       count(battery) AS battery_count,
       sum(battery) AS battery_sum,
       sum(temperature * temperature) AS temperature_sumsq,
       sum(humidity * humidity) AS humidity_sumsq,
       sum(battery * battery) AS battery_sumsq
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
       avg(humidity) AS avg_humidity,
       min(humidity) AS min_humidity,
       max(humidity) AS max_humidity,
       avg(battery) AS avg_battery,
       min(battery) AS min_battery,
       max(battery) AS max_battery,
       count(*) AS reading_count,
       count(temperature) AS temperature_count,
       sum(temperature) AS temperature_sum,
       count(humidity) AS humidity_count,
       sum(humidity) AS humidity_sum,
       count(battery) AS battery_count,
       sum(battery) AS battery_sum,
       sum(temperature * temperature) AS temperature_sumsq,
       sum(humidity * humidity) AS humidity_sumsq,
       sum(battery * battery) AS battery_sumsq
FROM device_telemetry
GROUP BY bucket, device_id
WITH NO DATA;
