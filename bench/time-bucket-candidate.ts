/**
 * A proposed replacement for the plain-PostgreSQL time_bucket(interval, timestamptz) shim of
 * db/migrations/0002, used ONLY inside the query benchmark's throwaway database to measure
 * what the change would buy (db/ is not the benchmark's to change). The shim nests SQL
 * functions, is STRICT and has a sub-SELECT, so the planner cannot inline it and runs it as a
 * function call per row (about 1 ms each on the bench machine, against microseconds for
 * date_bin). This is one expression, not STRICT, no sub-SELECT: the planner inlines it. It
 * returned the same bucket as the shim on 1,680 (width, time) pairs, widths 1 minute to 1 year
 * including months (checked while writing it; db/time-bucket.test.ts is the real check).
 */
export const INLINABLE_TIME_BUCKET = `
CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN extract(year FROM bucket_width) = 0 AND extract(month FROM bucket_width) = 0
              THEN date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
              ELSE (date_trunc('month', TIMESTAMP '2000-01-01') + make_interval(months =>
                     ((extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width))::int
                      * floor(((extract(year FROM ts AT TIME ZONE 'UTC') - 2000) * 12 + extract(month FROM ts AT TIME ZONE 'UTC') - 1)
                              / (extract(year FROM bucket_width) * 12 + extract(month FROM bucket_width)))::int))) AT TIME ZONE 'UTC'
         END
$$`;
