import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { defaultMigrationsDir, migrate } from '../db/migrate';
import { createPool } from '../lib/postgres';
import { Reading } from '../schemas';
import { writeBatch } from '../writer/store';
import { telemetryTable } from '../writer/tables';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';

/**
 * The rollups of plain PostgreSQL (db/migrations/0007_rollup_state): state tables kept by a
 * trigger on device_telemetry, read through the views device_telemetry_1m / _1h. Readings go
 * in through the writer's own path (COPY into staging, INSERT ... ON CONFLICT DO NOTHING); after
 * every step the views must equal the aggregate computed straight from the raw table. On
 * TimescaleDB (compose) the rollups are continuous aggregates and this file has nothing to test.
 */

const quiet = { info: () => undefined, warn: () => undefined };
const METRICS = ['temperature', 'humidity', 'battery'] as const;
const VIEWS = { device_telemetry_1m: '1 minute', device_telemetry_1h: '1 hour' } as const;
const NOW_US = Math.floor(Date.now() / 60_000) * 60_000_000;

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` readings of `devices` devices over the last 3 hours, in random order, with a tenth late
 * (up to 3 days old), metrics missing now and then, and microsecond times.
 */
function readings(seed: number, n: number, devices = 6): Reading[] {
  const next = random(seed);
  const value = (base: number, spread: number) => (next() < 0.15 ? null : base + (next() - 0.5) * spread);
  return Array.from({ length: n }, (_, i) => {
    const ageUs = next() < 0.1 ? next() * 3 * 86_400e6 : next() * 3 * 3600e6;
    return {
      device_id: `dev-${Math.floor(next() * devices)}`,
      time: Math.floor(NOW_US - ageUs),
      firmware: '1.0.0',
      temperature: value(21, 10),
      humidity: value(50, 40),
      battery: value(60, 80),
      seq: i,
      ingested_at: Date.now(),
    };
  });
}

interface Row {
  key: string;
  reading_count: number;
  [column: string]: unknown;
}

const rawAggregates = METRICS.map(
  (m) => `count(${m})::int AS ${m}_count, avg(${m}) AS avg_${m}, min(${m}) AS min_${m}, max(${m}) AS max_${m}`,
).join(', ');
const viewColumns = METRICS.map((m) => `${m}_count::int AS ${m}_count, avg_${m}, min_${m}, max_${m}`).join(', ');

/** The rollup as the view gives it and as the raw table gives it, per (device_id, bucket). */
async function compare(pool: Pool, view: keyof typeof VIEWS): Promise<{ view: Row[]; raw: Row[] }> {
  const key = `device_id || ' ' || to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS key`;
  const fromView = await pool.query(`SELECT ${key}, reading_count::int AS reading_count, ${viewColumns} FROM ${view} ORDER BY device_id, bucket`);
  const fromRaw = await pool.query(
    `SELECT ${key}, reading_count, ${METRICS.map((m) => `${m}_count, avg_${m}, min_${m}, max_${m}`).join(', ')}
       FROM (SELECT time_bucket($1::interval, time) AS bucket, device_id, count(*)::int AS reading_count, ${rawAggregates}
               FROM device_telemetry GROUP BY 1, 2) r
      ORDER BY device_id, bucket`,
    [VIEWS[view]],
  );
  return { view: fromView.rows, raw: fromRaw.rows };
}

/** Same buckets, counts, min and max; means within 1e-9. */
async function expectRollupsMatchRaw(pool: Pool): Promise<void> {
  for (const view of Object.keys(VIEWS) as (keyof typeof VIEWS)[]) {
    const { view: got, raw } = await compare(pool, view);
    const exact = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('avg_'))));
    expect({ view, rows: exact(got) }).toEqual({ view, rows: exact(raw) });
    for (const [i, r] of raw.entries()) {
      for (const m of METRICS) {
        const [a, b] = [got[i][`avg_${m}`] as number | null, r[`avg_${m}`] as number | null];
        if (a === null || b === null) expect({ view, key: r.key, m, a }).toEqual({ view, key: r.key, m, a: b });
        else expect(Math.abs(a - b)).toBeLessThan(1e-9);
      }
    }
    expect(raw.length).toBeGreaterThan(0);
  }
}

async function stateSnapshot(pool: Pool): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT '1m' AS r, * FROM device_telemetry_1m_state UNION ALL SELECT '1h', * FROM device_telemetry_1h_state ORDER BY 1, 3, 2`,
  );
  return rows;
}

async function seconds<T>(body: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await body();
  return [(performance.now() - started) / 1000, result];
}

describe('rollups on plain PostgreSQL (state tables kept by a trigger)', () => {
  let db: TestDatabase & { report: { engine: string } };
  let plain = false;

  beforeAll(async () => {
    db = await createMigratedDatabase('rollups');
    plain = db.report.engine === 'postgresql';
    if (!plain) process.stdout.write('TimescaleDB: the rollups are continuous aggregates; nothing to test here\n');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('counts a reading once: a redelivery skipped by ON CONFLICT DO NOTHING is not in the transition table', async () => {
    if (!plain) return;
    const batch = readings(1, 500);
    const first = await writeBatch(db.pool, telemetryTable, batch);
    expect(first.inserted).toBeGreaterThan(480); // a few random identities may collide
    expect(first.copiedDirectly).toBe(true); // all new: plain COPY, and the trigger still counts it
    await expectRollupsMatchRaw(db.pool);
    const before = await stateSnapshot(db.pool);

    expect(await writeBatch(db.pool, telemetryTable, batch)).toEqual({ inserted: 0, skipped: 500, copiedDirectly: false });
    // the same identities with other values: the stored reading wins, the rollup does not move
    const changed = batch.map((r) => ({ ...r, temperature: 1000, battery: -1 }));
    expect(await writeBatch(db.pool, telemetryTable, changed)).toEqual({ inserted: 0, skipped: 500, copiedDirectly: false });
    expect(await stateSnapshot(db.pool)).toEqual(before);

    // half redelivered, half new, each new one twice in the batch: only the new ones count, once
    const fresh = readings(2, 250);
    const mixed = await writeBatch(db.pool, telemetryTable, [...batch.slice(0, 250), ...fresh, ...fresh]);
    expect(mixed.inserted).toBeGreaterThan(240);
    expect(mixed.inserted).toBeLessThanOrEqual(250);
    expect(mixed.copiedDirectly).toBe(false);
    await expectRollupsMatchRaw(db.pool);
  });

  it('stays equal to the raw table under out-of-order, late and duplicate readings from two pools at once', async () => {
    if (!plain) return;
    const pools = [createPool(db.config, 'test-rollups-a', 4), createPool(db.config, 'test-rollups-b', 4)];
    try {
      // Both pools write the same readings, cut into batches differently, as two writers do after
      // a rebalance: they race for the same identities and for the same rollup rows (6 devices,
      // so every batch shares buckets with every other). The writer inserts each batch in
      // identity order, so neither the identity index nor the rollup rows can deadlock them.
      const all = readings(3, 12_000);
      const batchesA = Array.from({ length: 12 }, (_, i) => all.slice(i * 1000, (i + 1) * 1000));
      const batchesB = Array.from({ length: 8 }, (_, i) => all.slice(i * 1500, (i + 1) * 1500));
      const count = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM device_telemetry`)).rows[0].n as number;
      const before = await count();
      const results = await Promise.all([
        ...batchesA.map((b) => writeBatch(pools[0], telemetryTable, b)),
        ...batchesB.map((b) => writeBatch(pools[1], telemetryTable, b)),
      ]);
      // every identity inserted by exactly one of the two writers
      const identities = new Set(all.map((r) => `${r.device_id} ${r.time}`)).size;
      expect(results.reduce((sum, r) => sum + r.inserted, 0)).toBe(identities);
      expect((await count()) - before).toBe(identities);
      await expectRollupsMatchRaw(db.pool);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('empties with a TRUNCATE and recounts with device_telemetry_rollups_rebuild()', async () => {
    if (!plain) return;
    // Nothing in the pipeline deletes readings; an operator who does recounts.
    await db.pool.query(`DELETE FROM device_telemetry WHERE device_id = 'dev-0'`);
    await db.pool.query('SELECT device_telemetry_rollups_rebuild()');
    await expectRollupsMatchRaw(db.pool);
    await db.pool.query('TRUNCATE device_telemetry');
    expect(await stateSnapshot(db.pool)).toEqual([]);
  });

  it('reads a 24 h range from the state tables, not the raw table, faster (timing printed)', async () => {
    if (!plain) return;
    // 1 M readings over the last 24 h: 100 devices, one every 8.64 s.
    const [loadS] = await seconds(() =>
      db.pool.query(
        `INSERT INTO device_telemetry (time, device_id, temperature, humidity, battery)
         SELECT now() - g * interval '8.64 seconds', 'load-' || d, 20 + (g % 50) / 10.0, 50 + d % 10, 100 - g / 10000.0
           FROM generate_series(1, 10000) g, generate_series(1, 100) d`,
      ),
    );
    await db.pool.query('ANALYZE device_telemetry, device_telemetry_1m_state, device_telemetry_1h_state');
    // 0004's views over the raw table, for the comparison
    const old = readFileSync(path.join(defaultMigrationsDir(), '0004_rollups.postgresql.sql'), 'utf8').replace(/VIEW (device_telemetry_1[mh])/g, 'VIEW $1_raw_view');
    await db.pool.query(old);

    // one range for both reads: the last 24 h, at the time of the load
    const since = new Date(Date.now() - 24 * 3600_000);
    const queries = {
      'fleet, 5-minute buckets from the 1-minute rollup': ['device_telemetry_1m', (v: string) =>
        `SELECT time_bucket('5 minutes', bucket) AS b, sum(reading_count) AS n, sum(avg_temperature * reading_count) / sum(reading_count) AS t
           FROM ${v} WHERE bucket >= $1 GROUP BY 1 ORDER BY 1`],
      'per device, hourly from the 1-hour rollup': ['device_telemetry_1h', (v: string) =>
        `SELECT bucket, device_id, reading_count, avg_temperature, min_battery FROM ${v} WHERE bucket >= $1 ORDER BY 1, 2`],
    } as const;
    for (const [name, [view, sql]] of Object.entries(queries)) {
      const [beforeS, before] = await seconds(() => db.pool.query(sql(`${view}_raw_view`), [since]));
      const [afterS, after] = await seconds(() => db.pool.query(sql(view), [since]));
      expect(after.rows.length).toBe(before.rows.length);
      expect(after.rows.map((r) => Number(r.reading_count ?? r.n))).toEqual(before.rows.map((r) => Number(r.reading_count ?? r.n)));
      process.stdout.write(
        `24 h, 1,000,000 readings (loaded with the trigger in ${loadS.toFixed(1)} s), ${name}: ` +
          `view over raw rows ${(beforeS * 1000).toFixed(0)} ms, state table ${(afterS * 1000).toFixed(0)} ms (${(beforeS / afterS).toFixed(0)}x)\n`,
      );
      expect(afterS).toBeLessThan(beforeS);
    }
    const [view, sql] = queries['per device, hourly from the 1-hour rollup'];
    const plan = await db.pool.query(`EXPLAIN ${sql(view)}`, [since]);
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/on device_telemetry_1h_state/);
    expect(text).not.toMatch(/on device_telemetry /);
  });
});

describe('migration 0007 on a database that already holds readings', () => {
  let db: TestDatabase & { report: { engine: string } };
  let before0007: string;

  beforeAll(async () => {
    // migrate without 0007 first, as a database migrated by the previous release
    before0007 = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    cpSync(defaultMigrationsDir(), before0007, { recursive: true });
    rmSync(path.join(before0007, '0007_rollup_state.postgresql.sql'));
    db = await createMigratedDatabase('rollups_backfill', { migrationsDir: before0007 });
  });
  afterAll(async () => {
    rmSync(before0007, { recursive: true, force: true });
    await db?.drop();
  });

  it('backfills the state tables, while a writer keeps writing, and counts every reading once', async () => {
    if (db.report.engine !== 'postgresql') return;
    expect((await writeBatch(db.pool, telemetryTable, readings(4, 3000))).inserted).toBeGreaterThan(2900);
    const writer = createPool(db.config, 'test-rollups-writer', 2);
    try {
      const more = readings(5, 8000);
      const writing = (async () => {
        for (let i = 0; i < 16; i++) await writeBatch(writer, telemetryTable, more.slice(i * 500, (i + 1) * 500));
      })();
      const report = await migrate(db.pool, { logger: quiet });
      await writing;
      expect(report.applied).toEqual(['0007_rollup_state']);
    } finally {
      await writer.end();
    }
    await expectRollupsMatchRaw(db.pool);
  });
});
