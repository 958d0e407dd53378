-- The time-zone form of the time_bucket() shim (0002), brought to the results of the TimescaleDB
-- the project runs (2.28), which changed two things after the release 0002 was checked against:
--   - the "offset" is applied to the timestamptz, before the conversion to local time, and added
--     back after the conversion from it (TimescaleDB issue #7059: applied in local time it could
--     make times that do not exist at a DST change). Across a DST change the two differ by the
--     hour: time_bucket('1 day 1 hour', '2054-09-21 17:00+00', 'Europe/Berlin',
--     "offset" => '-34 days') is 2054-09-20 16:00+00 now, 2054-09-21 17:00+00 before;
--   - a local bucket start that is ambiguous at a DST fall-back converts back to the later,
--     standard-time instant, which can lie after the timestamp itself; the bucket then moves
--     back by whole widths until it starts at or before the timestamp (issue #9136; TimescaleDB
--     loops, this takes the number of widths at once).
-- Like 0002's, the body depends on the session time zone (timestamptz arithmetic with days), so
-- it is not inlined; it calls 0006's inlined (interval, timestamp, origin) form.

CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz, timezone text,
                                       origin timestamptz DEFAULT NULL, "offset" interval DEFAULT NULL)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b.start > b.shifted
                THEN b.start - bucket_width * ceil(extract(epoch FROM b.start - b.shifted) / extract(epoch FROM bucket_width))
                ELSE b.start
           END + coalesce("offset", INTERVAL '0')
    FROM (SELECT s.shifted,
                 time_bucket(bucket_width, s.shifted AT TIME ZONE timezone,
                             coalesce(origin AT TIME ZONE timezone,
                                      CASE WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
                                           THEN TIMESTAMP '2000-01-03 00:00:00' ELSE TIMESTAMP '2000-01-01 00:00:00' END))
                     AT TIME ZONE timezone AS start
          FROM (SELECT ts - coalesce("offset", INTERVAL '0') AS shifted) AS s) AS b
$$;
