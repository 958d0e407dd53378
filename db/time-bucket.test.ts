import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { defaultMigrationsDir } from './migrate';
import { PGliteDb, startPGlite } from './pglite';

/**
 * The time_bucket() shim of plain PostgreSQL (migration 0002) against the real TimescaleDB
 * time_bucket(), side by side in one PGlite: TimescaleDB's in schema public, the shim in schema
 * shim (first on the search path, so the shim's own inner calls stay in the shim).
 */
const SHIM = readFileSync(path.join(defaultMigrationsDir(), '0002_time_bucket.postgresql.sql'), 'utf8');

let db: PGliteDb;

beforeAll(async () => {
  db = await startPGlite({ timescaledb: true });
  process.stdout.write(`PGlite with TimescaleDB started in ${db.startupMs} ms\n`);
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb; CREATE SCHEMA shim; SET search_path = shim, public;');
  await db.exec(SHIM);
});
afterAll(async () => {
  await db?.close();
});

/** Evaluates `call` (with TB standing for time_bucket) with TimescaleDB's and with the shim's function. */
async function both(call: string): Promise<{ timescaledb: string; shim: string }> {
  const run = async (schema: string) => {
    try {
      const r = await db.query<{ v: string | null }>(`SELECT (${call.replace(/TB\(/g, `${schema}.time_bucket(`)})::text AS v`);
      return String(r.rows[0].v);
    } catch (err) {
      return `error`;
    }
  };
  return { timescaledb: await run('public'), shim: await run('shim') };
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

  it('refuses what TimescaleDB refuses, and passes NULL through', async () => {
    for (const w of ['1 month 1 day', '1 year 2 hours', '0 minutes', '-5 minutes', '-1 month']) {
      expect(await both(`TB('${w}'::interval, '2024-05-17 12:00+00'::timestamptz)`)).toEqual({ timescaledb: 'error', shim: 'error' });
    }
    expect(await both(`TB('5 minutes', NULL::timestamptz)`)).toEqual({ timescaledb: 'null', shim: 'null' });
  });
});
