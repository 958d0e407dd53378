-- Tables of the pipeline, the same on PostgreSQL and TimescaleDB.
-- device_telemetry has exactly the seed's columns, so the seed's SQL runs unchanged.

CREATE TABLE IF NOT EXISTS device_telemetry (
    time        timestamptz      NOT NULL,
    device_id   text             NOT NULL,
    firmware    text,
    temperature double precision,
    humidity    double precision,
    battery     double precision
);

-- A reading's identity is (device_id, time) at the precision the device sent: one row per
-- identity. This one index enforces it (the writer inserts ... ON CONFLICT DO NOTHING) and
-- serves per-device time-range queries. TimescaleDB requires the time column in it.
CREATE UNIQUE INDEX IF NOT EXISTS device_telemetry_device_id_time_idx
    ON device_telemetry (device_id, time DESC);

-- Fleet-wide recent queries (ORDER BY time DESC LIMIT n, WHERE time > now() - ...);
-- the index TimescaleDB would create by default, made explicit so both engines match.
CREATE INDEX IF NOT EXISTS device_telemetry_time_idx
    ON device_telemetry (time DESC);

COMMENT ON TABLE device_telemetry IS
    'One row per reading; identity (device_id, time), enforced by device_telemetry_device_id_time_idx';

CREATE TABLE IF NOT EXISTS device_alerts (
    alert_id     text PRIMARY KEY,
    device_id    text             NOT NULL,
    kind         text             NOT NULL,
    metric       text,
    value        double precision,
    mean         double precision,
    stddev       double precision,
    z            double precision,
    threshold    double precision,
    reading_time timestamptz      NOT NULL,
    detected_at  timestamptz      NOT NULL,
    details      jsonb
);

CREATE INDEX IF NOT EXISTS device_alerts_device_id_reading_time_idx
    ON device_alerts (device_id, reading_time DESC);

COMMENT ON TABLE device_alerts IS
    'Alerts of the detector; alert_id is deterministic, so a repeated alert is one row';
