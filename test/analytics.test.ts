import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { InvalidArgumentError, IoTAnalytics, SchemaMissingError } from '../analytics';
import type { TelemetryRow } from '../schemas';
import { insertReadings } from '../testkit/seed-queries';
import { createMigratedDatabase, createTestDatabase, TestDatabase } from '../testkit/pg';

/**
 * IoTAnalytics and `iot-pipeline analytics` against the PostgreSQL of the environment. The
 * readings are generated here and every expected figure is computed here, in JS, from them.
 */

const ROOT = join(__dirname, '..');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const CLOSE = 6; // decimal places for toBeCloseTo

/** A small deterministic generator (mulberry32), so a failure can be rerun with the same data. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const now = Date.now();
const at = (msAgo: number) => new Date(now - msAgo);
const rnd = random(20240611);
/** Normally distributed (Box–Muller), so a 2σ threshold finds a few percent of the readings. */
const gaussian = (mu: number, sigma: number) => mu + sigma * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const reading = (
  device_id: string,
  msAgo: number,
  temperature: number | null,
  humidity: number | null,
  battery: number | null,
): TelemetryRow => ({
  time: at(msAgo),
  device_id,
  firmware: '1.2.0',
  temperature,
  humidity,
  battery,
});

// device-a: a reading a minute for six hours, one outlier, and a few from 30 h ago (outside 24 h).
// device-b: every two minutes for three hours, draining to 12 % battery, one reading without temperature.
// device-c: went silent 45 minutes ago; once low on battery, then recharged.
const batch: TelemetryRow[] = [];
for (let i = 0; i < 360; i++) batch.push(reading('device-a', i * MINUTE + 30_000, gaussian(22, 0.5), 50 + rnd() * 10, 80 - i * 0.05));
const outlier = reading('device-a', 90 * MINUTE + 45_000, 26.5, 55, 62);
batch.push(outlier);
for (let i = 0; i < 10; i++) batch.push(reading('device-a', 30 * HOUR + i * MINUTE, 5, 10, 99));
for (let i = 0; i < 90; i++) batch.push(reading('device-b', i * 2 * MINUTE + 50_000, gaussian(30, 1), 40 + rnd() * 5, 12 + i * 0.5));
batch[batch.length - 40].temperature = null;
for (let i = 0; i < 60; i++) batch.push(reading('device-c', 45 * MINUTE + i * 3 * MINUTE, 18 + rnd(), 70, i < 30 ? 60 : 10));

// Arriving after everything else, with older device times: "latest" must not be "last arrived".
const late = [
  reading('device-a', 10 * MINUTE + 15_000, 23, 51, 79),
  reading('device-c', 3 * HOUR + 20_000, 18.5, 70, 5),
  reading('device-b', 4 * HOUR, 31, 42, 3), // 4 h ago: outside device-b's three hours, but inside 24 h
];
const all = [...batch, ...late];

// ---- expectations, computed from the readings ----
const within = (hours: number) => all.filter((r) => r.time.getTime() > now - hours * HOUR);
const byDevice = (rs: TelemetryRow[]) => {
  const m = new Map<string, TelemetryRow[]>();
  for (const r of rs) m.set(r.device_id, [...(m.get(r.device_id) ?? []), r]);
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
};
const values = (rs: TelemetryRow[], metric: 'temperature' | 'humidity' | 'battery') =>
  rs.map((r) => r[metric]).filter((v): v is number => v !== null);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sampleStddev = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const newestFirst = (a: TelemetryRow, b: TelemetryRow) => b.time.getTime() - a.time.getTime() || (a.device_id < b.device_id ? -1 : 1);

function expectedAnomalies(threshold: number, hours: number): { reading: TelemetryRow; mean: number; stddev: number }[] {
  const out: { reading: TelemetryRow; mean: number; stddev: number }[] = [];
  for (const rs of byDevice(within(hours)).values()) {
    const ts = values(rs, 'temperature');
    const m = mean(ts);
    const sd = sampleStddev(ts);
    for (const r of rs)
      if (r.temperature !== null && Math.abs(r.temperature - m) > threshold * sd) out.push({ reading: r, mean: m, stddev: sd });
  }
  return out.sort((a, b) => newestFirst(a.reading, b.reading));
}

/** Buckets of `widthMs` (epoch-aligned, as time_bucket's default origin is for widths up to a day) of `rs`. */
function expectedBuckets(rs: TelemetryRow[], widthMs: number) {
  const m = new Map<string, TelemetryRow[]>();
  for (const r of rs) {
    const key = `${Math.floor(r.time.getTime() / widthMs) * widthMs}|${r.device_id}`;
    m.set(key, [...(m.get(key) ?? []), r]);
  }
  return [...m]
    .map(([key, group]) => {
      const [bucket, deviceId] = key.split('|');
      const ts = values(group, 'temperature');
      const bs = values(group, 'battery');
      return {
        bucket: Number(bucket),
        deviceId,
        readings: group.length,
        temperature: { avg: mean(ts), min: Math.min(...ts), max: Math.max(...ts) },
        batteryMin: Math.min(...bs),
      };
    })
    .sort((a, b) => b.bucket - a.bucket || (a.deviceId < b.deviceId ? -1 : 1));
}

describe('IoTAnalytics on the environment PostgreSQL', () => {
  let db: TestDatabase & { report: { engine: string } };
  let analytics: IoTAnalytics;

  beforeAll(async () => {
    db = await createMigratedDatabase('analytics');
    const first = insertReadings(batch);
    expect((await db.pool.query(first.text, first.values)).rowCount).toBe(batch.length);
    for (const r of late) {
      const one = insertReadings([r]);
      expect((await db.pool.query(one.text, one.values)).rowCount).toBe(1);
    }
    analytics = new IoTAnalytics(db.pool);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('latest readings are the newest by device time, not the last to arrive', async () => {
    const latest = await analytics.latestReadings('device-a', 5);
    const expected = all
      .filter((r) => r.device_id === 'device-a')
      .sort(newestFirst)
      .slice(0, 5);
    expect(latest.map((r) => r.time.toISOString())).toEqual(expected.map((r) => r.time.toISOString()));
    expect(latest[0]).toMatchObject({
      deviceId: 'device-a',
      firmware: '1.2.0',
      temperature: expected[0].temperature,
      battery: expected[0].battery,
    });
    // the late reading sits where its device time puts it
    const lateA = late[0].time.toISOString();
    const all10 = (await analytics.latestReadings('device-a', 20)).map((r) => r.time.toISOString());
    expect(all10.indexOf(lateA)).toBe(
      all
        .filter((r) => r.device_id === 'device-a')
        .sort(newestFirst)
        .findIndex((r) => r.time.toISOString() === lateA),
    );
    expect(await analytics.latestReadings('no-such-device')).toEqual([]);
  });

  it.each([24, 2])('statistics over %d hours match those computed from the readings', async (hours) => {
    const stats = await analytics.allDeviceStatistics(hours);
    const expected = byDevice(within(hours));
    expect(stats.map((s) => s.deviceId)).toEqual([...expected.keys()]);
    for (const s of stats) {
      const rs = expected.get(s.deviceId) as TelemetryRow[];
      expect(s.readings).toBe(rs.length);
      expect(s.lastSeen.toISOString()).toBe(rs.sort(newestFirst)[0].time.toISOString());
      expect(s.firstSeen.toISOString()).toBe(rs[rs.length - 1].time.toISOString());
      for (const metric of ['temperature', 'humidity', 'battery'] as const) {
        const xs = values(rs, metric);
        const got = s[metric];
        expect({ device: s.deviceId, metric, count: got.count }).toEqual({ device: s.deviceId, metric, count: xs.length });
        expect(got.avg).toBeCloseTo(mean(xs), CLOSE);
        expect(got.min).toBeCloseTo(Math.min(...xs), CLOSE);
        expect(got.max).toBeCloseTo(Math.max(...xs), CLOSE);
        expect(got.stddev).toBeCloseTo(sampleStddev(xs), CLOSE);
      }
    }
    const one = await analytics.deviceStatistics('device-b', hours);
    expect(one).toEqual(stats.find((s) => s.deviceId === 'device-b'));
    expect(await analytics.deviceStatistics('no-such-device', hours)).toBeUndefined();
  });

  it.each([2.0, 3.0])('temperature anomalies beyond %p standard deviations', async (threshold) => {
    const expected = expectedAnomalies(threshold, 24);
    const { total, anomalies } = await analytics.temperatureAnomalies({ thresholdStddev: threshold, limit: 1000 });
    expect(total).toBe(expected.length);
    expect(anomalies.map((a) => [a.time.toISOString(), a.deviceId])).toEqual(
      expected.map((e) => [e.reading.time.toISOString(), e.reading.device_id]),
    );
    anomalies.forEach((a, i) => {
      expect(a.mean).toBeCloseTo(expected[i].mean, CLOSE);
      expect(a.stddev).toBeCloseTo(expected[i].stddev, CLOSE);
      expect(a.zScore).toBeCloseTo(((expected[i].reading.temperature as number) - expected[i].mean) / expected[i].stddev, CLOSE);
    });
    expect(anomalies.map((a) => a.time.toISOString())).toContain(outlier.time.toISOString());
  });

  it('temperature anomalies: newest first up to the limit, the total still counted, one device on request', async () => {
    const expected = expectedAnomalies(2.0, 24);
    expect(expected.length).toBeGreaterThan(3);
    const { total, anomalies } = await analytics.temperatureAnomalies({ limit: 3 });
    expect(total).toBe(expected.length);
    expect(anomalies.map((a) => a.time.toISOString())).toEqual(expected.slice(0, 3).map((e) => e.reading.time.toISOString()));
    const onlyA = await analytics.temperatureAnomalies({ deviceId: 'device-a', limit: 1000 });
    expect(onlyA.total).toBe(expected.filter((e) => e.reading.device_id === 'device-a').length);
    expect(onlyA.anomalies.every((a) => a.deviceId === 'device-a')).toBe(true);
  });

  it('low battery: devices whose newest battery reading is below the threshold', async () => {
    const newest = [...byDevice(all.filter((r) => r.battery !== null)).values()].map((rs) => rs.sort(newestFirst)[0]);
    for (const threshold of [20, 70, 100]) {
      const expected = newest
        .filter((r) => (r.battery as number) < threshold)
        .sort((a, b) => (a.battery as number) - (b.battery as number));
      const got = await analytics.lowBatteryDevices(threshold);
      expect(got.map((d) => [d.deviceId, d.battery, d.time.toISOString()])).toEqual(
        expected.map((r) => [r.device_id, r.battery, r.time.toISOString()]),
      );
    }
    // device-c's late 5 % reading and device-b's late 3 % one are older than their newest readings
    expect((await analytics.lowBatteryDevices()).map((d) => d.deviceId)).toEqual(['device-b']);
  });

  it('inactive devices: no reading for N minutes, by newest device time', async () => {
    const lastSeen = new Map([...byDevice(all)].map(([d, rs]) => [d, Math.max(...rs.map((r) => r.time.getTime()))]));
    for (const minutes of [10, 60, 24 * 60]) {
      const expected = [...lastSeen].filter(([, t]) => t < now - minutes * MINUTE).sort((a, b) => a[1] - b[1]);
      const got = await analytics.inactiveDevices(minutes);
      expect(got.map((d) => [d.deviceId, d.lastSeen.getTime()])).toEqual(expected);
      for (const d of got) expect(d.silentMinutes).toBeGreaterThanOrEqual((now - d.lastSeen.getTime()) / MINUTE);
    }
    expect((await analytics.inactiveDevices(10)).map((d) => d.deviceId)).toEqual(['device-c']);
  });

  // 7 h over data that starts 6 h ago (and 30 h ago): the widened first bucket holds nothing, so
  // the exact moment of the database's now() cannot move a reading between buckets.
  it.each([
    ['15 minutes', 'device_telemetry', 15 * MINUTE],
    ['15 minutes', 'device_telemetry_1m', 15 * MINUTE],
    ['1 hour', 'device_telemetry_1h', HOUR],
    ['1 hour', 'device_telemetry_1m', HOUR],
  ] as const)('time series in %s buckets from %s', async (bucket, source, widthMs) => {
    const series = await analytics.timeSeries({ bucket, hours: 7, source });
    expect(series.source).toBe(source);
    const expected = expectedBuckets(within(7), widthMs);
    expect(series.points.map((p) => [p.bucket.getTime(), p.deviceId, p.readings])).toEqual(
      expected.map((e) => [e.bucket, e.deviceId, e.readings]),
    );
    series.points.forEach((p, i) => {
      expect(p.temperature.avg).toBeCloseTo(expected[i].temperature.avg, CLOSE);
      expect(p.temperature.min).toBeCloseTo(expected[i].temperature.min, CLOSE);
      expect(p.temperature.max).toBeCloseTo(expected[i].temperature.max, CLOSE);
      expect(p.battery.min).toBeCloseTo(expected[i].batteryMin, CLOSE);
    });
  });

  it('time series: one device on request; the rollup rule picks the source by bucket and range', async () => {
    const series = await analytics.timeSeries({ bucket: '30 minutes', hours: 7, deviceId: 'device-b' });
    expect(series.points.map((p) => [p.bucket.getTime(), p.readings])).toEqual(
      expectedBuckets(
        within(7).filter((r) => r.device_id === 'device-b'),
        30 * MINUTE,
      ).map((e) => [e.bucket, e.readings]),
    );
    const long = await analytics.timeSeries({ bucket: '1 hour', hours: 48 });
    expect(long.source).toBe('device_telemetry_1h');
    expect(long.points.reduce((n, p) => n + p.readings, 0)).toBe(all.length); // 48 h covers every reading
  });

  it('refuses a bad interval or threshold with a typed error, before any SQL', async () => {
    await expect(analytics.timeSeries({ bucket: "1 hour'); DROP TABLE device_telemetry; --" })).rejects.toThrow(InvalidArgumentError);
    await expect(analytics.timeSeries({ bucket: '1 second', hours: 24 })).rejects.toThrow(/choose a wider bucket/);
    await expect(analytics.timeSeries({ bucket: '90 minutes', source: 'device_telemetry_1h' })).rejects.toThrow(/multiple of 3600 s/);
    await expect(analytics.temperatureAnomalies({ thresholdStddev: -1 })).rejects.toThrow(/thresholdStddev: must be a positive number/);
    await expect(analytics.lowBatteryDevices(Number.NaN)).rejects.toThrow(InvalidArgumentError);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM device_telemetry')).rows[0].n).toBe(all.length);
  });

  it('fleet summary over 24 hours', async () => {
    const rs = within(24);
    const fleet = await analytics.fleetSummary(24);
    expect(fleet).toMatchObject({ devices: new Set(rs.map((r) => r.device_id)).size, readings: rs.length });
    expect(fleet.lastReading?.toISOString()).toBe([...rs].sort(newestFirst)[0].time.toISOString());
    expect(fleet.temperatureAvg).toBeCloseTo(mean(values(rs, 'temperature')), CLOSE);
    expect(fleet.humidityAvg).toBeCloseTo(mean(values(rs, 'humidity')), CLOSE);
    expect(fleet.batteryAvg).toBeCloseTo(mean(values(rs, 'battery')), CLOSE);
    expect(await analytics.fleetSummary(0.001)).toMatchObject({ devices: 0, readings: 0, temperatureAvg: null, lastReading: null });
  });

  describe('iot-pipeline analytics (the command)', () => {
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'analytics', ...args], {
        cwd: ROOT,
        env: { ...process.env, ...db.env, ...env },
        encoding: 'utf8',
        timeout: 60000,
      });

    it('prints the report as aligned tables', () => {
      const { status, stdout, stderr } = cli(['--hours', '24']);
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      const sections = stdout.trimEnd().split('\n\n');
      expect(sections.map((s) => s.split('\n')[0].replace(/ \(.*$/, ''))).toEqual([
        'IoT analytics: last 24 h',
        'All devices summary',
        'Temperature anomalies',
        'Low battery devices',
        'Inactive devices',
      ]);
      const rs = within(24);
      expect(sections[0]).toContain(`fleet: 3 devices, ${rs.length} readings`);
      const summary = sections[1].split('\n');
      for (const [device, group] of byDevice(rs)) {
        const row = summary.find((l) => l.startsWith(`${device} `)) as string;
        const cells = row.split(/\s{2,}/);
        expect(cells[1]).toBe(String(group.length));
        expect(cells[3]).toBe(mean(values(group, 'temperature')).toFixed(2));
        expect(row.length).toBe(summary[1].length); // right-aligned last column ends under its header
      }
      const anomalies = expectedAnomalies(2, 24).length;
      expect(sections[2].split('\n')[0]).toBe(`Temperature anomalies (|z| > 2; newest ${Math.min(20, anomalies)} of ${anomalies})`);
      expect(
        sections[3]
          .split('\n')
          .slice(3)
          .map((l) => l.split(/\s+/)[0]),
      ).toEqual(['device-b']);
      expect(
        sections[4]
          .split('\n')
          .slice(3)
          .map((l) => l.split(/\s+/)[0]),
      ).toEqual(['device-c']);
    });

    it('--json with a device: the same figures for machines, and its latest readings', () => {
      const { status, stdout } = cli(['--json', '--device', 'device-a', '--z-threshold', '3']);
      expect(status).toBe(0);
      const report = JSON.parse(stdout);
      const group = within(24).filter((r) => r.device_id === 'device-a');
      expect(report.options).toMatchObject({ hours: 24, zThreshold: 3, deviceId: 'device-a' });
      expect(report.devices).toHaveLength(1);
      expect(report.devices[0].readings).toBe(group.length);
      expect(report.devices[0].temperature.stddev).toBeCloseTo(sampleStddev(values(group, 'temperature')), CLOSE);
      expect(report.anomalies.total).toBe(expectedAnomalies(3, 24).filter((e) => e.reading.device_id === 'device-a').length);
      expect(report.latest[0].time).toBe([...group].sort(newestFirst)[0].time.toISOString());
      expect(report.lowBattery).toEqual([]);
    });

    it('a bad configuration value stops it with a message naming the key', () => {
      const { status, stderr } = cli(['--inactive-minutes', 'soon'], { ANALYTICS_BATTERY_THRESHOLD: '120' });
      expect(status).toBe(78);
      expect(stderr).toContain('ANALYTICS_BATTERY_THRESHOLD');
      expect(stderr).toContain('ANALYTICS_INACTIVE_MINUTES');
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  });
});

describe('IoTAnalytics on a database that was never migrated', () => {
  let empty: TestDatabase;
  beforeAll(async () => {
    empty = await createTestDatabase('analytics_empty');
  });
  afterAll(async () => {
    await empty?.drop();
  });

  it('says to run migrate', async () => {
    await expect(new IoTAnalytics(empty.pool).latestReadings('device-a')).rejects.toThrow(SchemaMissingError);
    await expect(new IoTAnalytics(empty.pool).timeSeries()).rejects.toThrow(/run `iot-pipeline migrate`/);
  });
});
