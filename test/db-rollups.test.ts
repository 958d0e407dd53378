import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { defaultMigrationsDir, Engine, loadMigrations, migrate, ROLLUPS } from '../db/migrate';
import { createPool } from '../lib/postgres';
import { Reading } from '../schemas';
import { writeBatch } from '../writer/store';
import { telemetryTable } from '../writer/tables';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { CONTINUOUS_AGGREGATES, pauseRefreshPolicies, refreshContinuousAggregates } from '../testkit/timescaledb';

/**
 * The rollups device_telemetry_1m / _1h on both engines, each in a database migrated with that
 * engine explicitly (whatever MIGRATE_ENGINE says): on plain PostgreSQL state tables kept by a
 * trigger on device_telemetry (db/migrations/0007_rollup_state), read through views; on
 * TimescaleDB continuous aggregates (0004_rollups.timescaledb), refreshed here by the test
 * (CALL refresh_continuous_aggregate, their policies paused; test/db-timescaledb.test.ts runs
 * the policies through the scheduler). Readings go in through the writer's own path (COPY, or
 * COPY into staging and INSERT ... ON CONFLICT DO NOTHING); after every step the views, every
 * column, must equal the aggregate computed straight from the raw table.
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
  (m) => `count(${m})::int AS ${m}_count, sum(${m}) AS ${m}_sum, avg(${m}) AS avg_${m}, min(${m}) AS min_${m}, max(${m}) AS max_${m}`,
).join(', ');
const rollupColumns = METRICS.map((m) => `${m}_count::int AS ${m}_count, ${m}_sum, avg_${m}, min_${m}, max_${m}`).join(', ');
/** Sums and means: the engines add in another order than the raw aggregate, so equal within rounding. */
const ROUNDED = /^(avg_|.*_sum$)/;

/** Every column of the rollup as `relation` holds it and as the raw table gives it, per (device_id, bucket), optionally before `until`. */
async function compare(pool: Pool, view: keyof typeof VIEWS, relation: string, until?: Date): Promise<{ got: Row[]; raw: Row[] }> {
  const key = `device_id || ' ' || to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS key`;
  const fromRollup = await pool.query(
    `SELECT ${key}, reading_count::int AS reading_count, ${rollupColumns} FROM ${relation}
      WHERE $1::timestamptz IS NULL OR bucket < $1 ORDER BY device_id, bucket`,
    [until ?? null],
  );
  const fromRaw = await pool.query(
    `SELECT ${key}, reading_count, ${rollupColumns}
       FROM (SELECT time_bucket($1::interval, time) AS bucket, device_id, count(*)::int AS reading_count, ${rawAggregates}
               FROM device_telemetry GROUP BY 1, 2) r
      WHERE $2::timestamptz IS NULL OR bucket < $2
      ORDER BY device_id, bucket`,
    [VIEWS[view], until ?? null],
  );
  return { got: fromRollup.rows, raw: fromRaw.rows };
}

/** Same buckets, counts, minima and maxima; sums and means within 1e-9 (relative to the sum). */
function expectSameRollup(what: string, got: Row[], raw: Row[]): void {
  const exact = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !ROUNDED.test(k))));
  expect({ what, rows: exact(got) }).toEqual({ what, rows: exact(raw) });
  for (const [i, r] of raw.entries()) {
    for (const column of Object.keys(r).filter((k) => ROUNDED.test(k))) {
      const [a, b] = [got[i][column] as number | null, r[column] as number | null];
      if (a === null || b === null) expect({ what, key: r.key, column, value: a }).toEqual({ what, key: r.key, column, value: b });
      else
        expect({ what, key: r.key, column, off: Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)) }).toEqual({
          what,
          key: r.key,
          column,
          off: true,
        });
    }
  }
}

/**
 * Every rollup equals the raw table. On TimescaleDB the materialized rows are compared too (up to
 * the watermark), not only the view, which adds the newest buckets from the raw table itself.
 */
async function expectRollupsMatchRaw(pool: Pool, engine: Engine): Promise<void> {
  const caggs = await materializations(pool);
  expect([...caggs.keys()].sort()).toEqual(engine === 'timescaledb' ? [...CONTINUOUS_AGGREGATES].sort() : []);
  for (const view of Object.keys(VIEWS) as (keyof typeof VIEWS)[]) {
    const { got, raw } = await compare(pool, view, view);
    expectSameRollup(view, got, raw);
    expect(raw.length).toBeGreaterThan(0);
    const cagg = caggs.get(view);
    if (cagg) {
      const materialized = await compare(pool, view, cagg.table, cagg.watermark);
      expectSameRollup(`${view} materialized`, materialized.got, materialized.raw);
    }
  }
}

/** On TimescaleDB, each continuous aggregate's materialization hypertable and watermark; empty on plain PostgreSQL. */
async function materializations(pool: Pool): Promise<Map<string, { table: string; watermark: Date }>> {
  const installed = await pool.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`);
  if (installed.rows.length === 0) return new Map();
  const { rows } = await pool.query<{ view: string; table: string; watermark: Date }>(
    `SELECT c.user_view_name AS view, format('%I.%I', h.schema_name, h.table_name) AS table,
            _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(c.mat_hypertable_id)) AS watermark
       FROM _timescaledb_catalog.continuous_agg c JOIN _timescaledb_catalog.hypertable h ON h.id = c.mat_hypertable_id`,
  );
  return new Map(rows.map((r) => [r.view, { table: r.table, watermark: r.watermark }]));
}

/** What the rollups store: the state tables on plain PostgreSQL, the materialized rows on TimescaleDB. */
async function stored(pool: Pool, engine: Engine): Promise<unknown[]> {
  const caggs = await materializations(pool);
  const relations =
    engine === 'timescaledb'
      ? CONTINUOUS_AGGREGATES.map((v) => caggs.get(v)!.table)
      : ['device_telemetry_1m_state', 'device_telemetry_1h_state'];
  const { rows } = await pool.query(
    `SELECT * FROM (${relations.map((r, i) => `SELECT ${i} AS r, to_jsonb(t) AS row FROM ${r} t`).join(' UNION ALL ')}) u ORDER BY r, row::text`,
  );
  return rows;
}

async function seconds<T>(body: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await body();
  return [(performance.now() - started) / 1000, result];
}

/**
 * How a test brings an engine's rollups up to date with the raw table: on plain PostgreSQL the
 * trigger did it within the insert; on TimescaleDB a refresh of both continuous aggregates does.
 */
const ENGINES: { engine: Engine; prepare(pool: Pool): Promise<void>; settle(pool: Pool): Promise<void> }[] = [
  { engine: 'postgresql', prepare: async () => undefined, settle: async () => undefined },
  { engine: 'timescaledb', prepare: pauseRefreshPolicies, settle: refreshContinuousAggregates },
];

describe.each(ENGINES)('rollups on $engine, readings through the writer', ({ engine, prepare, settle }) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase(`rollups_${engine}`, { engine });
    await prepare(db.pool);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('counts a reading once: a redelivery skipped by ON CONFLICT DO NOTHING changes no rollup', async () => {
    const batch = readings(1, 500);
    const first = await writeBatch(db.pool, telemetryTable, batch);
    expect(first.inserted).toBeGreaterThan(480); // a few random identities may collide
    expect(first.copiedDirectly).toBe(true); // all new: plain COPY, and the rollups still count it
    await settle(db.pool);
    await expectRollupsMatchRaw(db.pool, engine);
    const before = await stored(db.pool, engine);
    expect(before.length).toBeGreaterThan(0);

    expect(await writeBatch(db.pool, telemetryTable, batch)).toEqual({ inserted: 0, skipped: 500, copiedDirectly: false });
    // the same identities with other values: the stored reading wins, the rollup does not move
    const changed = batch.map((r) => ({ ...r, temperature: 1000, battery: -1 }));
    expect(await writeBatch(db.pool, telemetryTable, changed)).toEqual({ inserted: 0, skipped: 500, copiedDirectly: false });
    await settle(db.pool);
    expect(await stored(db.pool, engine)).toEqual(before);

    // half redelivered, half new, each new one twice in the batch: only the new ones count, once
    const fresh = readings(2, 250);
    const mixed = await writeBatch(db.pool, telemetryTable, [...batch.slice(0, 250), ...fresh, ...fresh]);
    expect(mixed.inserted).toBeGreaterThan(240);
    expect(mixed.inserted).toBeLessThanOrEqual(250);
    expect(mixed.copiedDirectly).toBe(false);
    await settle(db.pool);
    await expectRollupsMatchRaw(db.pool, engine);
  });

  it('stays equal to the raw table under out-of-order, late and duplicate readings from two pools at once', async () => {
    const pools = [createPool(db.config, `test-rollups-${engine}-a`, 4), createPool(db.config, `test-rollups-${engine}-b`, 4)];
    try {
      // Both pools write the same readings, cut into batches differently, as two writers do after
      // a rebalance: they race for the same identities and, on plain PostgreSQL, for the same
      // rollup rows (6 devices, so every batch shares buckets with every other). The writer
      // inserts each batch in identity order, so neither the identity index nor the rollup rows
      // can deadlock them.
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
      await settle(db.pool);
      await expectRollupsMatchRaw(db.pool, engine);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

describe('rollups on plain PostgreSQL: the state tables', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase('rollups_state', { engine: 'postgresql' });
    expect((await writeBatch(db.pool, telemetryTable, readings(6, 2000))).inserted).toBeGreaterThan(1900);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('empties with a TRUNCATE and recounts with device_telemetry_rollups_rebuild()', async () => {
    // Nothing in the pipeline deletes readings; an operator who does recounts.
    await db.pool.query(`DELETE FROM device_telemetry WHERE device_id = 'dev-0'`);
    await db.pool.query('SELECT device_telemetry_rollups_rebuild()');
    await expectRollupsMatchRaw(db.pool, 'postgresql');
    await db.pool.query('TRUNCATE device_telemetry');
    expect(await stored(db.pool, 'postgresql')).toEqual([]);
  });

  it('reads a 24 h range from the state tables, not the raw table, faster (timing printed)', async () => {
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
    const old = readFileSync(path.join(defaultMigrationsDir(), '0004_rollups.postgresql.sql'), 'utf8').replace(
      /VIEW (device_telemetry_1[mh])/g,
      'VIEW $1_raw_view',
    );
    await db.pool.query(old);

    // one range for both reads: the last 24 h, at the time of the load
    const since = new Date(Date.now() - 24 * 3600_000);
    const queries = {
      'fleet, 5-minute buckets from the 1-minute rollup': [
        'device_telemetry_1m',
        (v: string) =>
          `SELECT time_bucket('5 minutes', bucket) AS b, sum(reading_count) AS n, sum(avg_temperature * reading_count) / sum(reading_count) AS t
           FROM ${v} WHERE bucket >= $1 GROUP BY 1 ORDER BY 1`,
      ],
      'per device, hourly from the 1-hour rollup': [
        'device_telemetry_1h',
        (v: string) => `SELECT bucket, device_id, reading_count, avg_temperature, min_battery FROM ${v} WHERE bucket >= $1 ORDER BY 1, 2`,
      ],
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

describe('rollups on TimescaleDB: continuous aggregates, refreshed', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase('rollups_caggs', { engine: 'timescaledb' });
    await pauseRefreshPolicies(db.pool);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('show a late reading in an already materialized bucket after the next refresh, and a reading past the watermark at once', async () => {
    expect((await writeBatch(db.pool, telemetryTable, readings(7, 2000))).inserted).toBeGreaterThan(1900);
    await refreshContinuousAggregates(db.pool);
    await expectRollupsMatchRaw(db.pool, 'timescaledb');
    const caggs = await materializations(db.pool);

    // one reading 2 days back (a bucket materialized by the refresh), one a minute past the newest bucket
    const lateUs = NOW_US - 2 * 86_400e6 + 17e6;
    const newUs = Math.max(...[...caggs.values()].map((c) => c.watermark.getTime())) * 1000 + 60e6 + 5e6;
    const extra = [
      {
        device_id: 'dev-late',
        time: lateUs,
        firmware: '1.0.0',
        temperature: 40,
        humidity: null,
        battery: 10,
        seq: 0,
        ingested_at: Date.now(),
      },
      {
        device_id: 'dev-late',
        time: newUs,
        firmware: '1.0.0',
        temperature: 41,
        humidity: 51,
        battery: null,
        seq: 1,
        ingested_at: Date.now(),
      },
    ];
    expect((await writeBatch(db.pool, telemetryTable, extra)).inserted).toBe(2);
    for (const view of CONTINUOUS_AGGREGATES) {
      const { rows } = await db.pool.query(
        `SELECT (extract(epoch FROM bucket) * 1e6)::bigint AS bucket_us, reading_count::int AS n, temperature_sum, humidity_count::int AS humidity_count
           FROM ${view} WHERE device_id = 'dev-late' ORDER BY bucket`,
      );
      // before the refresh: the materialized bucket does not have it yet, the real-time one does
      const widthUs = ROLLUPS.find((r) => r.view === view)!.bucketSeconds * 1e6;
      expect({ view, rows: rows.map((r) => [Number(r.bucket_us), r.n, r.temperature_sum, r.humidity_count]) }).toEqual({
        view,
        rows: [[Math.floor(newUs / widthUs) * widthUs, 1, 41, 1]],
      });
    }

    await refreshContinuousAggregates(db.pool);
    for (const view of CONTINUOUS_AGGREGATES) {
      const { rows } = await db.pool.query(
        `SELECT reading_count::int AS n, temperature_sum, battery_count::int AS b FROM ${view} WHERE device_id = 'dev-late' ORDER BY bucket`,
      );
      expect({ view, rows }).toEqual({
        view,
        rows: [
          { n: 1, temperature_sum: 40, b: 1 },
          { n: 1, temperature_sum: 41, b: 0 },
        ],
      });
    }
    await expectRollupsMatchRaw(db.pool, 'timescaledb');
  });

  it('empty with a TRUNCATE of the raw table and a refresh', async () => {
    await db.pool.query('TRUNCATE device_telemetry');
    await refreshContinuousAggregates(db.pool);
    expect(await stored(db.pool, 'timescaledb')).toEqual([]);
    for (const view of CONTINUOUS_AGGREGATES) expect((await db.pool.query(`SELECT count(*)::int AS n FROM ${view}`)).rows[0].n).toBe(0);
  });
});

describe('migration 0007 on a database that already holds readings', () => {
  const LATER = loadMigrations().filter((m) => m.version >= 7 && m.engine !== 'timescaledb');
  let db: TestDatabase;
  let before0007: string;

  beforeAll(async () => {
    // migrate without 0007 and what came after it first, as a database migrated by the release before 0007
    before0007 = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    cpSync(defaultMigrationsDir(), before0007, { recursive: true });
    for (const m of LATER) rmSync(path.join(before0007, m.file));
    db = await createMigratedDatabase('rollups_backfill', { migrationsDir: before0007, engine: 'postgresql' });
  });
  afterAll(async () => {
    rmSync(before0007, { recursive: true, force: true });
    await db?.drop();
  });

  it('backfills the state tables, while a writer keeps writing, and counts every reading once', async () => {
    expect((await writeBatch(db.pool, telemetryTable, readings(4, 3000))).inserted).toBeGreaterThan(2900);
    const writer = createPool(db.config, 'test-rollups-writer', 2);
    try {
      const more = readings(5, 8000);
      const writing = (async () => {
        for (let i = 0; i < 16; i++) await writeBatch(writer, telemetryTable, more.slice(i * 500, (i + 1) * 500));
      })();
      const report = await migrate(db.pool, { logger: quiet, engine: 'postgresql' });
      await writing;
      expect(report.applied).toEqual(LATER.map((m) => m.name));
      expect(report.applied[0]).toBe('0007_rollup_state');
    } finally {
      await writer.end();
    }
    await expectRollupsMatchRaw(db.pool, 'postgresql');
  });
});
