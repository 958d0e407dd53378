import { IoTAnalytics, TimeSeries } from '../analytics/analytics';
import type { TelemetryRow } from '../schemas';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { insertReadings } from '../testkit/seed-queries';
import { pauseRefreshPolicies, refreshContinuousAggregates } from '../testkit/timescaledb';

/**
 * The rollup path on TimescaleDB (a database migrated with engine timescaledb, whatever
 * MIGRATE_ENGINE says): the 1-hour continuous aggregate (made from the 1-minute one) serves long
 * ranges, and a late reading for an already materialised bucket shows up after the next refresh
 * of the 1-minute rollup and then the 1-hour one (the policies run every minute and every 30
 * minutes over 7 days). The refresh policies are paused, so the refreshes are the test's own.
 * test/analytics.test.ts runs the analytics on either engine.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const now = Date.now();
const reading = (msAgo: number, temperature: number): TelemetryRow => ({
  time: new Date(now - msAgo),
  device_id: 'device-x',
  firmware: '1.0.0',
  temperature,
  humidity: 50,
  battery: 90,
});

let db: TestDatabase;
let analytics: IoTAnalytics;

beforeAll(async () => {
  db = await createMigratedDatabase('analytics_tsdb', { engine: 'timescaledb' });
  await pauseRefreshPolicies(db.pool);
  const readings = Array.from({ length: 240 }, (_, i) => reading(i * 10 * MINUTE + 5 * MINUTE, 20 + (i % 7)));
  const insert = insertReadings(readings);
  expect((await db.pool.query(insert.text, insert.values)).rowCount).toBe(readings.length);
  await refreshContinuousAggregates(db.pool); // the 1-minute rollup, then the 1-hour one made from it
  analytics = new IoTAnalytics(db.pool);
});
afterAll(async () => {
  await db?.drop();
});

const counts = (s: TimeSeries) => s.points.map((p) => [p.bucket.toISOString(), p.readings, Number(p.temperature.avg?.toFixed(9))]);
const raw = () => analytics.timeSeries({ bucket: '1 hour', hours: 48, source: 'device_telemetry' });

it('1-hour buckets over 48 h read the 1-hour rollup and agree with the raw table', async () => {
  const rolled = await analytics.timeSeries({ bucket: '1 hour', hours: 48 });
  expect(rolled.source).toBe('device_telemetry_1h');
  expect(rolled.points.length).toBeGreaterThanOrEqual(40); // readings span 40 hours
  expect(counts(rolled)).toEqual(counts(await raw()));
  const daily = await analytics.timeSeries({ bucket: '1 day', hours: 48 });
  expect(daily.source).toBe('device_telemetry_1h');
  expect(counts(daily)).toEqual(counts(await analytics.timeSeries({ bucket: '1 day', hours: 48, source: 'device_telemetry' })));
});

it('a late reading for a materialised bucket is seen after the refreshes', async () => {
  const recent = reading(20 * MINUTE, 99);
  const old = reading(30 * HOUR + 1000, 99);
  const insert = insertReadings([recent, old]);
  expect((await db.pool.query(insert.text, insert.values)).rowCount).toBe(2);
  const bucketOf = (r: TelemetryRow) => new Date(Math.floor(r.time.getTime() / HOUR) * HOUR).toISOString();
  const readingsIn = (s: TimeSeries, bucket: string) => s.points.find((p) => p.bucket.toISOString() === bucket)?.readings;

  const before = await analytics.timeSeries({ bucket: '1 hour', hours: 48 });
  const exact = await raw();
  expect(readingsIn(before, bucketOf(recent))).toBe((readingsIn(exact, bucketOf(recent)) as number) - 1);
  expect(readingsIn(before, bucketOf(old))).toBe((readingsIn(exact, bucketOf(old)) as number) - 1);

  await refreshContinuousAggregates(db.pool); // the 1-minute rollup, then the 1-hour one made from it
  expect(counts(await analytics.timeSeries({ bucket: '1 hour', hours: 48 }))).toEqual(counts(exact));
});
