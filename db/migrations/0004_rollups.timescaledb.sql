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

-- The 1-hour rollup is made from the 1-minute one (a hierarchical continuous aggregate): its
-- refresh reads 60 rows a device-hour instead of every reading, and its real-time part (the
-- hours not materialized yet) reads the 1-minute rollup, not the raw table.
CREATE MATERIALIZED VIEW device_telemetry_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       device_id,
       sum(temperature_sum) / nullif(sum(temperature_count), 0) AS avg_temperature,
       min(min_temperature) AS min_temperature,
       max(max_temperature) AS max_temperature,
       sum(humidity_sum) / nullif(sum(humidity_count), 0) AS avg_humidity,
       min(min_humidity) AS min_humidity,
       max(max_humidity) AS max_humidity,
       sum(battery_sum) / nullif(sum(battery_count), 0) AS avg_battery,
       min(min_battery) AS min_battery,
       max(max_battery) AS max_battery,
       sum(reading_count)::bigint AS reading_count,
       sum(temperature_count)::bigint AS temperature_count,
       sum(temperature_sum) AS temperature_sum,
       sum(humidity_count)::bigint AS humidity_count,
       sum(humidity_sum) AS humidity_sum,
       sum(battery_count)::bigint AS battery_count,
       sum(battery_sum) AS battery_sum,
       sum(temperature_sumsq) AS temperature_sumsq,
       sum(humidity_sumsq) AS humidity_sumsq,
       sum(battery_sumsq) AS battery_sumsq
FROM device_telemetry_1m
GROUP BY 1, device_id
WITH NO DATA;
