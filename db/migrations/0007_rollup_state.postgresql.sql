-- Without TimescaleDB, the rollups become tables kept current by the inserting statement
-- itself, instead of 0004's views that aggregated every raw row on every read. For each
-- (device_id, bucket) the state tables hold the reading count and, per metric, the count of
-- readings that have it, their sum, sum of squares, min and max: enough to merge batches
-- exactly and to re-bucket means and standard deviations (weighted by the metric's own count).
--
-- A statement-level AFTER INSERT trigger aggregates the statement's transition table (only the
-- rows actually inserted: a redelivery skipped by ON CONFLICT DO NOTHING is not in it, so it
-- never counts twice) and adds it to the state rows with one upsert per rollup. The upserts take
-- their row locks in (device_id, bucket) order, 1-minute rollup first, in every writer, so
-- concurrent batches queue on a shared bucket instead of deadlocking. UPDATE and DELETE of
-- readings are not followed (nothing in the pipeline does either, and the writer role may not);
-- after one, SELECT device_telemetry_rollups_rebuild() recounts. TRUNCATE empties the rollups.
--
-- device_telemetry_1m and device_telemetry_1h keep 0004's columns (CREATE OR REPLACE VIEW, so
-- the grants of 0005 stay) and add the per-metric counts, sums and sums of squares at the end.
-- A sum reads NULL for a bucket without a value of the metric, as sum() gives it and as on
-- TimescaleDB's continuous aggregates (the state tables start each sum at 0 for the upserts).

CREATE TABLE IF NOT EXISTS device_telemetry_1m_state (
    bucket        timestamptz NOT NULL,
    device_id     text        NOT NULL,
    reading_count bigint      NOT NULL,
    temperature_count bigint NOT NULL DEFAULT 0,
    temperature_sum   double precision NOT NULL DEFAULT 0,
    temperature_sumsq double precision NOT NULL DEFAULT 0,
    temperature_min   double precision,
    temperature_max   double precision,
    humidity_count bigint NOT NULL DEFAULT 0,
    humidity_sum   double precision NOT NULL DEFAULT 0,
    humidity_sumsq double precision NOT NULL DEFAULT 0,
    humidity_min   double precision,
    humidity_max   double precision,
    battery_count bigint NOT NULL DEFAULT 0,
    battery_sum   double precision NOT NULL DEFAULT 0,
    battery_sumsq double precision NOT NULL DEFAULT 0,
    battery_min   double precision,
    battery_max   double precision,
    PRIMARY KEY (device_id, bucket)
);
CREATE INDEX IF NOT EXISTS device_telemetry_1m_state_bucket_idx ON device_telemetry_1m_state (bucket);

CREATE TABLE IF NOT EXISTS device_telemetry_1h_state (
    bucket        timestamptz NOT NULL,
    device_id     text        NOT NULL,
    reading_count bigint      NOT NULL,
    temperature_count bigint NOT NULL DEFAULT 0,
    temperature_sum   double precision NOT NULL DEFAULT 0,
    temperature_sumsq double precision NOT NULL DEFAULT 0,
    temperature_min   double precision,
    temperature_max   double precision,
    humidity_count bigint NOT NULL DEFAULT 0,
    humidity_sum   double precision NOT NULL DEFAULT 0,
    humidity_sumsq double precision NOT NULL DEFAULT 0,
    humidity_min   double precision,
    humidity_max   double precision,
    battery_count bigint NOT NULL DEFAULT 0,
    battery_sum   double precision NOT NULL DEFAULT 0,
    battery_sumsq double precision NOT NULL DEFAULT 0,
    battery_min   double precision,
    battery_max   double precision,
    PRIMARY KEY (device_id, bucket)
);
CREATE INDEX IF NOT EXISTS device_telemetry_1h_state_bucket_idx ON device_telemetry_1h_state (bucket);

COMMENT ON TABLE device_telemetry_1m_state IS
    'State of the device_telemetry_1m rollup (plain PostgreSQL), maintained by trigger device_telemetry_rollup';
COMMENT ON TABLE device_telemetry_1h_state IS
    'State of the device_telemetry_1h rollup (plain PostgreSQL), maintained by trigger device_telemetry_rollup';

-- SECURITY DEFINER: a writer needs INSERT on device_telemetry only, not rights on the state
-- tables; its search path is pinned below so that a writer's temporary table cannot stand in.
CREATE OR REPLACE FUNCTION device_telemetry_rollup_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO device_telemetry_1m_state AS s (bucket, device_id, reading_count, temperature_count, temperature_sum, temperature_sumsq, temperature_min, temperature_max, humidity_count, humidity_sum, humidity_sumsq, humidity_min, humidity_max, battery_count, battery_sum, battery_sumsq, battery_min, battery_max)
    SELECT time_bucket(INTERVAL '1 minute', time), device_id, count(*),
           count(temperature), coalesce(sum(temperature), 0), coalesce(sum(temperature * temperature), 0), min(temperature), max(temperature),
           count(humidity), coalesce(sum(humidity), 0), coalesce(sum(humidity * humidity), 0), min(humidity), max(humidity),
           count(battery), coalesce(sum(battery), 0), coalesce(sum(battery * battery), 0), min(battery), max(battery)
      FROM new_rows
     GROUP BY device_id, 1
     ORDER BY device_id, 1
    ON CONFLICT (device_id, bucket) DO UPDATE SET
        reading_count = s.reading_count + excluded.reading_count,
        temperature_count = s.temperature_count + excluded.temperature_count, temperature_sum = s.temperature_sum + excluded.temperature_sum, temperature_sumsq = s.temperature_sumsq + excluded.temperature_sumsq,
        temperature_min = least(s.temperature_min, excluded.temperature_min), temperature_max = greatest(s.temperature_max, excluded.temperature_max),
        humidity_count = s.humidity_count + excluded.humidity_count, humidity_sum = s.humidity_sum + excluded.humidity_sum, humidity_sumsq = s.humidity_sumsq + excluded.humidity_sumsq,
        humidity_min = least(s.humidity_min, excluded.humidity_min), humidity_max = greatest(s.humidity_max, excluded.humidity_max),
        battery_count = s.battery_count + excluded.battery_count, battery_sum = s.battery_sum + excluded.battery_sum, battery_sumsq = s.battery_sumsq + excluded.battery_sumsq,
        battery_min = least(s.battery_min, excluded.battery_min), battery_max = greatest(s.battery_max, excluded.battery_max);

    INSERT INTO device_telemetry_1h_state AS s (bucket, device_id, reading_count, temperature_count, temperature_sum, temperature_sumsq, temperature_min, temperature_max, humidity_count, humidity_sum, humidity_sumsq, humidity_min, humidity_max, battery_count, battery_sum, battery_sumsq, battery_min, battery_max)
    SELECT time_bucket(INTERVAL '1 hour', time), device_id, count(*),
           count(temperature), coalesce(sum(temperature), 0), coalesce(sum(temperature * temperature), 0), min(temperature), max(temperature),
           count(humidity), coalesce(sum(humidity), 0), coalesce(sum(humidity * humidity), 0), min(humidity), max(humidity),
           count(battery), coalesce(sum(battery), 0), coalesce(sum(battery * battery), 0), min(battery), max(battery)
      FROM new_rows
     GROUP BY device_id, 1
     ORDER BY device_id, 1
    ON CONFLICT (device_id, bucket) DO UPDATE SET
        reading_count = s.reading_count + excluded.reading_count,
        temperature_count = s.temperature_count + excluded.temperature_count, temperature_sum = s.temperature_sum + excluded.temperature_sum, temperature_sumsq = s.temperature_sumsq + excluded.temperature_sumsq,
        temperature_min = least(s.temperature_min, excluded.temperature_min), temperature_max = greatest(s.temperature_max, excluded.temperature_max),
        humidity_count = s.humidity_count + excluded.humidity_count, humidity_sum = s.humidity_sum + excluded.humidity_sum, humidity_sumsq = s.humidity_sumsq + excluded.humidity_sumsq,
        humidity_min = least(s.humidity_min, excluded.humidity_min), humidity_max = greatest(s.humidity_max, excluded.humidity_max),
        battery_count = s.battery_count + excluded.battery_count, battery_sum = s.battery_sum + excluded.battery_sum, battery_sumsq = s.battery_sumsq + excluded.battery_sumsq,
        battery_min = least(s.battery_min, excluded.battery_min), battery_max = greatest(s.battery_max, excluded.battery_max);

    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION device_telemetry_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    TRUNCATE device_telemetry_1m_state, device_telemetry_1h_state;
    RETURN NULL;
END
$$;

-- Recounts both rollups from device_telemetry. The SHARE lock waits for the inserts in flight
-- to commit and holds new ones until this transaction ends: rows committed before are in the
-- recount (each statement below takes its snapshot after the lock), rows inserted after reach
-- the state through the trigger. The 1-hour rollup is summed from the 1-minute one.
CREATE OR REPLACE FUNCTION device_telemetry_rollups_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE device_telemetry IN SHARE MODE;
    TRUNCATE device_telemetry_1m_state, device_telemetry_1h_state;
    INSERT INTO device_telemetry_1m_state (bucket, device_id, reading_count, temperature_count, temperature_sum, temperature_sumsq, temperature_min, temperature_max, humidity_count, humidity_sum, humidity_sumsq, humidity_min, humidity_max, battery_count, battery_sum, battery_sumsq, battery_min, battery_max)
    SELECT time_bucket(INTERVAL '1 minute', time), device_id, count(*),
           count(temperature), coalesce(sum(temperature), 0), coalesce(sum(temperature * temperature), 0), min(temperature), max(temperature),
           count(humidity), coalesce(sum(humidity), 0), coalesce(sum(humidity * humidity), 0), min(humidity), max(humidity),
           count(battery), coalesce(sum(battery), 0), coalesce(sum(battery * battery), 0), min(battery), max(battery)
      FROM device_telemetry
     GROUP BY device_id, 1;
    INSERT INTO device_telemetry_1h_state (bucket, device_id, reading_count, temperature_count, temperature_sum, temperature_sumsq, temperature_min, temperature_max, humidity_count, humidity_sum, humidity_sumsq, humidity_min, humidity_max, battery_count, battery_sum, battery_sumsq, battery_min, battery_max)
    SELECT time_bucket(INTERVAL '1 hour', bucket), device_id, sum(reading_count),
           sum(temperature_count), sum(temperature_sum), sum(temperature_sumsq), min(temperature_min), max(temperature_max),
           sum(humidity_count), sum(humidity_sum), sum(humidity_sumsq), min(humidity_min), max(humidity_max),
           sum(battery_count), sum(battery_sum), sum(battery_sumsq), min(battery_min), max(battery_max)
      FROM device_telemetry_1m_state
     GROUP BY device_id, 1;
END
$$;
REVOKE EXECUTE ON FUNCTION device_telemetry_rollups_rebuild() FROM PUBLIC;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION device_telemetry_rollup_insert() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION device_telemetry_rollup_truncate() SET search_path = %I, pg_temp', current_schema());
END
$$;

-- Creating the triggers locks out writers until this migration commits, before the backfill
-- below counts what they wrote: no reading is counted twice or missed.
CREATE OR REPLACE TRIGGER device_telemetry_rollup
    AFTER INSERT ON device_telemetry REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION device_telemetry_rollup_insert();
CREATE OR REPLACE TRIGGER device_telemetry_rollup_truncate
    AFTER TRUNCATE ON device_telemetry
    FOR EACH STATEMENT EXECUTE FUNCTION device_telemetry_rollup_truncate();

SELECT device_telemetry_rollups_rebuild();

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
       battery_count, CASE WHEN battery_count > 0 THEN battery_sum END AS battery_sum,
       CASE WHEN temperature_count > 0 THEN temperature_sumsq END AS temperature_sumsq,
       CASE WHEN humidity_count > 0 THEN humidity_sumsq END AS humidity_sumsq,
       CASE WHEN battery_count > 0 THEN battery_sumsq END AS battery_sumsq
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
       battery_count, CASE WHEN battery_count > 0 THEN battery_sum END AS battery_sum,
       CASE WHEN temperature_count > 0 THEN temperature_sumsq END AS temperature_sumsq,
       CASE WHEN humidity_count > 0 THEN humidity_sumsq END AS humidity_sumsq,
       CASE WHEN battery_count > 0 THEN battery_sumsq END AS battery_sumsq
FROM device_telemetry_1h_state;
