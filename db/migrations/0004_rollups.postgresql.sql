-- Without TimescaleDB the rollups are plain views over the raw table, with the columns of
-- the continuous aggregates, so readers need not know which engine they run on.

CREATE OR REPLACE VIEW device_telemetry_1m AS
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
GROUP BY 1, 2;

CREATE OR REPLACE VIEW device_telemetry_1h AS
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
GROUP BY 1, 2;
