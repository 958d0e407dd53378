-- device_telemetry as a hypertable: 1-day chunks on time, native compression with one
-- segment per device, newest first inside a segment. The compression and retention
-- policies are not here: migrate (re)applies them on every run from the configuration.

SELECT create_hypertable('device_telemetry', by_range('time', INTERVAL '1 day'),
                         create_default_indexes => false, if_not_exists => true, migrate_data => true);

ALTER TABLE device_telemetry SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id',
    timescaledb.compress_orderby = 'time DESC'
);
