-- time_bucket() for PostgreSQL without TimescaleDB, over date_bin(), with TimescaleDB's
-- signatures, parameter names and defaults: origin 2000-01-03 (a Monday) for buckets of days
-- and smaller, 2000-01-01 for buckets of months and years; timestamptz buckets are computed in
-- UTC unless a time zone is given. Widths that mix months with days or time, or are not
-- positive, are refused as TimescaleDB refuses them (date_bin raises the error, in its words).

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamp, origin timestamp)
RETURNS timestamp LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
             OR extract(day FROM bucket_width) <> 0 OR extract(hour FROM bucket_width) <> 0
             OR extract(minute FROM bucket_width) <> 0 OR extract(second FROM bucket_width) <> 0
             OR extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width) <= 0
        THEN date_bin(bucket_width, ts, origin)
        ELSE (
            -- Buckets of whole months start on the 1st at midnight; like TimescaleDB, only
            -- the year and month of the origin count.
            SELECT date_trunc('month', origin) + make_interval(months => p.m * floor(p.n::numeric / p.m)::int)
            FROM (SELECT (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int AS m,
                         ((extract(year FROM ts) - extract(year FROM origin)) * 12
                          + extract(month FROM ts) - extract(month FROM origin))::int AS n) AS p
        )
    END
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamp)
RETURNS timestamp LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT time_bucket(bucket_width, ts,
        CASE WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
             THEN TIMESTAMP '2000-01-03 00:00:00' ELSE TIMESTAMP '2000-01-01 00:00:00' END)
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamp, "offset" interval)
RETURNS timestamp LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT time_bucket(bucket_width, ts - "offset") + "offset"
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT time_bucket(bucket_width, ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz, origin timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT time_bucket(bucket_width, ts AT TIME ZONE 'UTC', origin AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz, "offset" interval)
RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT time_bucket(bucket_width, ts - "offset") + "offset"
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz, timezone text,
                                       origin timestamptz DEFAULT NULL, "offset" interval DEFAULT NULL)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (time_bucket(bucket_width,
                        (ts AT TIME ZONE timezone) - coalesce("offset", INTERVAL '0'),
                        coalesce(origin AT TIME ZONE timezone,
                                 CASE WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
                                      THEN TIMESTAMP '2000-01-03 00:00:00' ELSE TIMESTAMP '2000-01-01 00:00:00' END))
            + coalesce("offset", INTERVAL '0')) AT TIME ZONE timezone
$$;
