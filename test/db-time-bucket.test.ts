import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { Client } from 'pg';
import { defaultMigrationsDir, loadMigrations } from '../db/migrate';
import { createTestDatabase, TestDatabase } from '../testkit/pg';

/**
 * The time_bucket() shim of plain PostgreSQL (every time_bucket migration for PostgreSQL, as
 * migrate leaves it) against the real TimescaleDB time_bucket(), side by side in one database of
 * the server with the timescaledb extension: TimescaleDB's in schema public, the shim in schema
 * shim (first on the session's search path, so the shim's own inner calls stay in the shim).
 * 0002 alone, as it was before 0006 made it inlinable, sits in schema shim_0002 and 0002 with
 * 0006 in schema shim_0006, each with its search path pinned there: the rewrite must return
 * exactly what 0002 did. One session for the whole file, because the search path is a session
 * setting. Needs the extension, whatever MIGRATE_ENGINE says.
 */
const migration = (file: string) => readFileSync(path.join(defaultMigrationsDir(), file), 'utf8');
const SHIM_0002 = migration('0002_time_bucket.postgresql.sql');
const SHIM_0006 = migration('0006_time_bucket_inline.postgresql.sql');
const SHIM = loadMigrations().filter((m) => m.engine === 'postgresql' && m.name.includes('time_bucket'));

let db: TestDatabase;
let session: Client;

/** Creates `schema` with the shim of `scripts`, its functions pinned to it. */
async function pinnedShim(schema: string, scripts: string[]): Promise<void> {
  await session.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema};`);
  for (const sql of scripts) await session.query(sql);
  await session.query(`DO $$ DECLARE f regprocedure; BEGIN
    FOR f IN SELECT oid FROM pg_proc WHERE pronamespace = '${schema}'::regnamespace LOOP
      EXECUTE format('ALTER FUNCTION %s SET search_path = ${schema}', f);
    END LOOP; END $$`);
}

beforeAll(async () => {
  db = await createTestDatabase('time_bucket');
  session = new Client({ ...db.config, application_name: 'test-time-bucket' });
  await session.connect();
  await session.query('CREATE EXTENSION timescaledb');
  await pinnedShim('shim_0002', [SHIM_0002]);
  await pinnedShim('shim_0006', [SHIM_0002, SHIM_0006]);
  await session.query('CREATE SCHEMA shim; SET search_path = shim, public;');
  for (const m of SHIM) await session.query(m.sql);
});
afterAll(async () => {
  await session?.end();
  await db?.drop();
});

/** `call` (with TB standing for time_bucket) evaluated with the function of `schema`, as text, or 'error'. */
async function run(call: string, schema: string): Promise<string> {
  try {
    const r = await session.query<{ v: string | null }>(`SELECT (${call.replace(/TB\(/g, `${schema}.time_bucket(`)})::text AS v`);
    return String(r.rows[0].v);
  } catch {
    return 'error';
  }
}

/** Evaluates `call` (with TB standing for time_bucket) with TimescaleDB's and with the shim's function. */
async function both(call: string): Promise<{ timescaledb: string; shim: string }> {
  return { timescaledb: await run(call, 'public'), shim: await run(call, 'shim') };
}

const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const width = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 90 }), fc.constantFrom('seconds', 'minutes', 'hours', 'days', 'weeks')).map(([n, u]) => `${n} ${u}`),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 23 })).map(([d, h]) => `${d} days ${h} hours`),
  fc.integer({ min: 1, max: 600 }).map((ms) => `${ms} milliseconds`),
  fc.integer({ min: 1, max: 40 }).map((m) => `${m} months`),
  fc.integer({ min: 1, max: 5 }).map((y) => `${y} years`),
);
// 1901..2099 at microsecond precision
const instant = fc
  .tuple(fc.integer({ min: -2_177_000_000, max: 4_000_000_000 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([s, us]) => `${new Date(s * 1000).toISOString().slice(0, 19)}.${String(us).padStart(6, '0')}+00`);
const offset = fc.tuple(fc.integer({ min: -48, max: 48 }), fc.constantFrom('minutes', 'hours', 'days')).map(([n, u]) => `${n} ${u}`);

describe('time_bucket shim (plain PostgreSQL) agrees with TimescaleDB', () => {
  it('for timestamptz and timestamp, default origin', async () => {
    await fc.assert(
      fc.asyncProperty(width, instant, async (w, t) => {
        for (const call of [`TB('${w}'::interval, '${t}'::timestamptz)`, `TB('${w}'::interval, '${t}'::timestamp)`]) {
          const r = await both(call);
          expect({ call, value: r.timescaledb }).not.toEqual({ call, value: 'error' });
          expect({ call, value: r.shim }).toEqual({ call, value: r.timescaledb });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with an origin or an offset', async () => {
    await fc.assert(
      fc.asyncProperty(width, instant, instant, offset, async (w, t, o, off) => {
        for (const call of [
          `TB('${w}'::interval, '${t}'::timestamptz, origin => '${o}'::timestamptz)`,
          `TB('${w}'::interval, '${t}'::timestamp, origin => '${o}'::timestamp)`,
          `TB('${w}'::interval, '${t}'::timestamptz, "offset" => '${off}'::interval)`,
          `TB('${w}'::interval, '${t}'::timestamp, "offset" => '${off}'::interval)`,
        ]) {
          const r = await both(call);
          expect({ call, value: r.timescaledb }).not.toEqual({ call, value: 'error' });
          expect({ call, value: r.shim }).toEqual({ call, value: r.timescaledb });
        }
      }),
      { numRuns: 200 },
    );
  });

  it('in a time zone, with and without origin and offset', async () => {
    await fc.assert(
      fc.asyncProperty(width, instant, fc.constantFrom(...zones), instant, offset, async (w, t, z, o, off) => {
        for (const call of [
          `TB('${w}'::interval, '${t}'::timestamptz, '${z}')`,
          `TB('${w}'::interval, '${t}'::timestamptz, '${z}', origin => '${o}'::timestamptz)`,
          `TB('${w}'::interval, '${t}'::timestamptz, '${z}', "offset" => '${off}'::interval)`,
        ]) {
          const r = await both(call);
          expect({ call, value: r.timescaledb }).not.toEqual({ call, value: 'error' });
          expect({ call, value: r.shim }).toEqual({ call, value: r.timescaledb });
        }
      }),
      { numRuns: 200 },
    );
  });

  it('across DST changes: the offset applied in UTC, an ambiguous fall-back bucket moved back before the timestamp', async () => {
    // the two changes of TimescaleDB after 2.23 that migration 0008 follows (its comment says more)
    const cases: [string, string][] = [
      [
        `TB('1 day 1 hour'::interval, '2054-09-21 17:00+00'::timestamptz, 'Europe/Berlin', "offset" => '-34 days'::interval)`,
        '2054-09-20 16:00:00+00',
      ],
      [`TB('15 minutes'::interval, '2024-10-27 00:30+00'::timestamptz, 'Europe/Berlin')`, '2024-10-27 00:30:00+00'],
      [`TB('1 hour'::interval, '2024-11-03 05:30+00'::timestamptz, 'America/New_York')`, '2024-11-03 05:00:00+00'],
    ];
    for (const [call, value] of cases) expect({ call, ...(await both(call)) }).toEqual({ call, timescaledb: value, shim: value });
  });

  it('refuses what TimescaleDB refuses, and passes NULL through', async () => {
    for (const w of ['1 month 1 day', '1 year 2 hours', '0 minutes', '-5 minutes', '-1 month']) {
      expect(await both(`TB('${w}'::interval, '2024-05-17 12:00+00'::timestamptz)`)).toEqual({ timescaledb: 'error', shim: 'error' });
    }
    expect(await both(`TB('5 minutes', NULL::timestamptz)`)).toEqual({ timescaledb: 'null', shim: 'null' });
  });
});

describe('time_bucket shim after 0006', () => {
  const badWidth = fc.constantFrom('1 month 1 day', '1 year 2 hours', '0 minutes', '-5 minutes', '-1 month', '0 months');
  const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { freq: 10, nil: null });
  const lit = (v: string | null, type: string) => (v === null ? `NULL::${type}` : `'${v}'::${type}`);

  it('returns exactly what 0002 returned, for every form, also for NULLs and refused widths', async () => {
    await fc.assert(
      fc.asyncProperty(
        nullable(fc.oneof({ weight: 9, arbitrary: width }, { weight: 1, arbitrary: badWidth })),
        nullable(instant),
        nullable(instant),
        nullable(offset),
        fc.constantFrom(...zones),
        async (w, t, o, off, z) => {
          const [W, TZ, TS, OTZ, OTS, OFF] = [
            lit(w, 'interval'),
            lit(t, 'timestamptz'),
            lit(t, 'timestamp'),
            lit(o, 'timestamptz'),
            lit(o, 'timestamp'),
            lit(off, 'interval'),
          ];
          for (const call of [
            `TB(${W}, ${TZ})`,
            `TB(${W}, ${TS})`,
            `TB(${W}, ${TZ}, origin => ${OTZ})`,
            `TB(${W}, ${TS}, origin => ${OTS})`,
            `TB(${W}, ${TZ}, "offset" => ${OFF})`,
            `TB(${W}, ${TS}, "offset" => ${OFF})`,
            `TB(${W}, ${TZ}, '${z}', origin => ${OTZ}, "offset" => ${OFF})`,
          ]) {
            expect({ call, value: await run(call, 'shim_0006') }).toEqual({ call, value: await run(call, 'shim_0002') });
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('is inlined into a query: the plan calls date_bin on the column, not time_bucket', async () => {
    await session.query('CREATE TABLE shim.readings (time timestamptz, local timestamp)');
    const plan = async (expr: string) =>
      (await session.query<{ 'QUERY PLAN': string }>(`EXPLAIN (VERBOSE) SELECT ${expr} FROM shim.readings`)).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
    expect(await plan(`time_bucket('1 minute', time)`)).toMatch(
      /Output: date_bin\('00:01:00'::interval, "time", '2000-01-03 00:00:00\+00'::timestamp with time zone\)$/m,
    );
    expect(await plan(`time_bucket('5 minutes', local)`)).toMatch(
      /Output: date_bin\('00:05:00'::interval, local, '2000-01-03 00:00:00'::timestamp without time zone\)$/m,
    );
    expect(await plan(`time_bucket('1 hour', time, origin => '2024-01-01 00:30+00')`)).toMatch(
      /Output: date_bin\('01:00:00'::interval, "time", /,
    );
    expect(await plan(`time_bucket('15 minutes', local, "offset" => '5 minutes')`)).toMatch(
      /Output: \(date_bin\('00:15:00'::interval, \(local - '00:05:00'::interval\)/,
    );
    for (const expr of [
      `time_bucket('1 minute', time)`,
      `time_bucket('1 month', time)`,
      `time_bucket('3 months', local)`,
      `time_bucket('1 day', time, origin => now())`,
    ]) {
      expect({ expr, plan: await plan(expr) }).toEqual({ expr, plan: expect.not.stringContaining('time_bucket') });
    }
  });
});
