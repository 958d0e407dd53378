-- The time_bucket() shim of 0002, rewritten so that the planner inlines it: 0002's functions are
-- STRICT with non-strict bodies (CASE), and the month branch is a sub-SELECT; either stops
-- inlining, so every row paid for a call of nested SQL functions (~0.6 ms a row). Inlining
-- needs a body that is one SELECT of one expression, no sub-SELECT, not STRICT (the NULL
-- results stay the same: date_bin, make_interval and extract are strict) and, for an IMMUTABLE
-- function, only immutable operators (so the timestamptz forms use date_bin on timestamptz and
-- AT TIME ZONE 'UTC', not timestamptz arithmetic). With a constant width the planner then
-- folds the CASE away: time_bucket('1 minute', time) becomes
-- date_bin('00:01:00', time, '2000-01-03 00:00:00+00').
--
-- Same results as 0002 (and TimescaleDB): origin 2000-01-03 for widths without months, months
-- counted from the origin's month (2000-01-01 by default), timestamptz in UTC; a width mixing
-- months with days or time, or not positive, is refused by date_bin. The forms with an offset
-- on timestamptz and with a time zone stay as 0002 made them (their bodies need the session
-- time zone, so they cannot be inlined as IMMUTABLE); they call these and gain from them.

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamp)
RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
        THEN date_bin(bucket_width, ts, TIMESTAMP '2000-01-03 00:00:00')
        WHEN extract(day FROM bucket_width) <> 0 OR extract(hour FROM bucket_width) <> 0
             OR extract(minute FROM bucket_width) <> 0 OR extract(second FROM bucket_width) <> 0
             OR extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width) <= 0
        THEN date_bin(bucket_width, ts, TIMESTAMP '2000-01-01 00:00:00') -- raises date_bin's error
        ELSE TIMESTAMP '2000-01-01 00:00:00' + make_interval(months =>
                 (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int
                 * floor(((extract(year FROM ts) - 2000) * 12 + extract(month FROM ts) - 1)::int::numeric
                         / (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int)::int)
    END
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamp, origin timestamp)
RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
             OR extract(day FROM bucket_width) <> 0 OR extract(hour FROM bucket_width) <> 0
             OR extract(minute FROM bucket_width) <> 0 OR extract(second FROM bucket_width) <> 0
             OR extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width) <= 0
        THEN date_bin(bucket_width, ts, origin)
        -- Buckets of whole months start on the 1st at midnight; only the origin's year and month count.
        ELSE date_trunc('month', origin) + make_interval(months =>
                 (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int
                 * floor(((extract(year FROM ts) - extract(year FROM origin)) * 12
                          + extract(month FROM ts) - extract(month FROM origin))::int::numeric
                         / (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int)::int)
    END
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamp, "offset" interval)
RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT time_bucket(bucket_width, ts - "offset") + "offset"
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
        THEN date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
        WHEN extract(day FROM bucket_width) <> 0 OR extract(hour FROM bucket_width) <> 0
             OR extract(minute FROM bucket_width) <> 0 OR extract(second FROM bucket_width) <> 0
             OR extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width) <= 0
        THEN date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') -- raises date_bin's error
        ELSE (TIMESTAMP '2000-01-01 00:00:00' + make_interval(months =>
                 (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int
                 * floor(((extract(year FROM ts AT TIME ZONE 'UTC') - 2000) * 12
                          + extract(month FROM ts AT TIME ZONE 'UTC') - 1)::int::numeric
                         / (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int)::int))
             AT TIME ZONE 'UTC'
    END
$$;

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz, origin timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
             OR extract(day FROM bucket_width) <> 0 OR extract(hour FROM bucket_width) <> 0
             OR extract(minute FROM bucket_width) <> 0 OR extract(second FROM bucket_width) <> 0
             OR extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width) <= 0
        THEN date_bin(bucket_width, ts, origin)
        ELSE (date_trunc('month', origin AT TIME ZONE 'UTC') + make_interval(months =>
                 (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int
                 * floor(((extract(year FROM ts AT TIME ZONE 'UTC') - extract(year FROM origin AT TIME ZONE 'UTC')) * 12
                          + extract(month FROM ts AT TIME ZONE 'UTC') - extract(month FROM origin AT TIME ZONE 'UTC'))::int::numeric
                         / (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int)::int))
             AT TIME ZONE 'UTC'
    END
$$;
