-- The per-metric sums of the plain-PostgreSQL rollups as sum() gives them: NULL for a bucket
-- without a value of the metric, as on TimescaleDB's continuous aggregates (0004) and in the raw
-- table's own aggregate, not 0 (0007's state tables start each sum at 0, which the upserts
-- need). Only the views change (CREATE OR REPLACE VIEW: same columns, grants kept); a mean over
-- wider buckets, sum(x_sum) / sum(x_count), is unchanged.

CREATE OR REPLACE VIEW device_telemetry_1m AS
SELECT bucket,
       device_id,
       temperature_sum / nullif(temperature_count, 0) AS avg_temperature,
       temperature_min AS min_temperature,
       temperature_max AS max_temperature,
       humidity_sum / nullif(humidity_count, 0) AS avg_humidity,
       humidity_min AS min_humidity,
       humidity_max AS max_humidity,
       battery_sum / nullif(battery_count, 0) AS avg_battery,
       battery_min AS min_battery,
       battery_max AS max_battery,
       reading_count,
       temperature_count, CASE WHEN temperature_count > 0 THEN temperature_sum END AS temperature_sum,
       humidity_count, CASE WHEN humidity_count > 0 THEN humidity_sum END AS humidity_sum,
       battery_count, CASE WHEN battery_count > 0 THEN battery_sum END AS battery_sum
FROM device_telemetry_1m_state;

CREATE OR REPLACE VIEW device_telemetry_1h AS
SELECT bucket,
       device_id,
       temperature_sum / nullif(temperature_count, 0) AS avg_temperature,
       temperature_min AS min_temperature,
       temperature_max AS max_temperature,
       humidity_sum / nullif(humidity_count, 0) AS avg_humidity,
       humidity_min AS min_humidity,
       humidity_max AS max_humidity,
       battery_sum / nullif(battery_count, 0) AS avg_battery,
       battery_min AS min_battery,
       battery_max AS max_battery,
       reading_count,
       temperature_count, CASE WHEN temperature_count > 0 THEN temperature_sum END AS temperature_sum,
       humidity_count, CASE WHEN humidity_count > 0 THEN humidity_sum END AS humidity_sum,
       battery_count, CASE WHEN battery_count > 0 THEN battery_sum END AS battery_sum
FROM device_telemetry_1h_state;
