import { Pool } from 'pg';
import { run } from '../db';
import { loadDbConfig } from '../db/config';
import { loadMigrations, migrate, MigrateLogger, MigrateReport } from '../db/migrate';
import {
  ArrayResult,
  EXPECTED_FIELDS,
  expectedResults,
  fixtureReadings,
  insertReadings,
  normalizeResult,
  SEED_SQL,
  SeedQuery,
} from '../testkit/seed-queries';
import { createTestDatabase, TestDatabase } from '../testkit/pg';

/**
 * Migrations against the PostgreSQL of the environment, on the engine MIGRATE_ENGINE names (CI runs
 * this file with timescaledb and again with postgresql); test/db-schema.test.ts has both engines side by side.
 */
const ENGINE = loadDbConfig().migrate.engine;

function recorder(): MigrateLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
}

async function arrays(pool: Pool, sql: string): Promise<ArrayResult> {
  const r = await pool.query({ text: sql, rowMode: 'array' });
  return { fields: r.fields.map((f) => f.name), rows: r.rows as unknown[][] };
}

describe('migrate on the environment PostgreSQL', () => {
  let db: TestDatabase;
  let first: MigrateReport;
  let second: MigrateReport;
  let firstLog: ReturnType<typeof recorder>;
  let secondLog: ReturnType<typeof recorder>;
  let logBefore: unknown[];

  beforeAll(async () => {
    db = await createTestDatabase('migrate');
    firstLog = recorder();
    first = await migrate(db.pool, { logger: firstLog, engine: ENGINE });
    logBefore = (await db.pool.query('SELECT * FROM schema_migrations ORDER BY version')).rows;
    secondLog = recorder();
    second = await migrate(db.pool, { logger: secondLog, engine: ENGINE });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('migrates a fresh database, and a second run changes nothing', async () => {
    const expected = loadMigrations()
      .filter((m) => m.engine === null || m.engine === first.engine)
      .map((m) => m.name);
    expect(first.applied).toEqual(expected);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(expected);
    expect((await db.pool.query('SELECT * FROM schema_migrations ORDER BY version')).rows).toEqual(logBefore);
    if (first.engine === 'timescaledb') expect(second.policies.every((p) => p.action === 'unchanged')).toBe(true);
  });

  it('says what is missing without TimescaleDB, in one warning per run', async () => {
    if (first.engine === 'timescaledb') {
      expect(first.missing).toEqual([]);
      const h = await db.pool.query(`SELECT hypertable_name FROM timescaledb_information.hypertables`);
      expect(h.rows).toEqual([{ hypertable_name: 'device_telemetry' }]);
      return;
    }
    expect(first.missing).toEqual(['hypertable', 'compression', 'retention policy', 'continuous aggregates']);
    for (const log of [firstLog, secondLog]) {
      expect(log.warnings).toHaveLength(1);
      for (const word of ['hypertable', 'compression', 'retention', 'continuous aggregates', 'time_bucket'])
        expect(log.warnings[0]).toContain(word);
    }
    const views = await db.pool.query(`SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1`);
    expect(views.rows).toEqual([{ table_name: 'device_telemetry_1h' }, { table_name: 'device_telemetry_1m' }]);
  });

  it('runs the reference queries unchanged, with the expected rows', async () => {
    const { now, readings, outlier } = fixtureReadings();
    const insert = insertReadings(readings);
    const inserted = await db.pool.query(insert.text, insert.values);
    expect(inserted.rowCount).toBe(readings.length);
    const expected = expectedResults(readings, now);
    for (const name of Object.keys(SEED_SQL) as SeedQuery[]) {
      const result = await arrays(db.pool, SEED_SQL[name]);
      expect({ name, fields: result.fields }).toEqual({ name, fields: EXPECTED_FIELDS[name] });
      expect({ name, rows: normalizeResult(name, result) }).toEqual({ name, rows: expected[name] });
    }
    // the anomaly query finds the inserted outlier, and only it
    const anomalies = await db.pool.query(SEED_SQL.anomalies);
    expect(anomalies.rows.map((r) => [r.device_id, r.temperature, (r.time as Date).toISOString()])).toEqual([
      ['device-001', 80, outlier.time.toISOString()],
    ]);
    expect(anomalies.rows[0].z_score).toBeGreaterThan(2);
    // 5-minute buckets: aligned, newest first, each reading in exactly one
    const trends = await db.pool.query(SEED_SQL.temperatureTrends);
    const buckets = trends.rows.map((r) => (r.bucket as Date).getTime());
    expect(buckets.every((b) => b % 300_000 === 0)).toBe(true);
    expect(buckets).toEqual([...buckets].sort((a, b) => b - a));
    // the rollup views agree with the raw table
    const rollup = await db.pool.query(`SELECT sum(reading_count)::int AS n FROM device_telemetry_1m`);
    expect(rollup.rows[0].n).toBe(readings.length);
  });

  it('keeps one row per (device_id, time)', async () => {
    const insert = `INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, $3)`;
    const t = '2026-01-02T03:04:05.123456Z';
    await db.pool.query(insert, [t, 'dup-device', 20]);
    await expect(db.pool.query(insert, [t, 'dup-device', 99])).rejects.toMatchObject({
      code: '23505',
      constraint: expect.stringContaining('device_telemetry_device_id_time_idx'),
    });
    const skipped = await db.pool.query(`${insert} ON CONFLICT (device_id, time) DO NOTHING`, [t, 'dup-device', 99]);
    expect(skipped.rowCount).toBe(0);
    const other = await db.pool.query(insert, ['2026-01-02T03:04:05.123457Z', 'dup-device', 21]);
    expect(other.rowCount).toBe(1);
    const rows = await db.pool.query(`SELECT temperature FROM device_telemetry WHERE device_id = 'dup-device' ORDER BY time`);
    expect(rows.rows).toEqual([{ temperature: 20 }, { temperature: 21 }]);
  });
});

describe('migrate run concurrently', () => {
  let db: TestDatabase;
  afterAll(async () => {
    await db?.drop();
  });

  it('applies each migration once when four runs race on a fresh database', async () => {
    db = await createTestDatabase('migrate_race');
    const pools = Array.from({ length: 4 }, () => new Pool({ ...db.config, max: 1 }));
    try {
      const reports = await Promise.all(pools.map((p) => migrate(p, { logger: recorder(), engine: ENGINE })));
      const applied = reports.flatMap((r) => r.applied).sort();
      const expected = loadMigrations()
        .filter((m) => m.engine === null || m.engine === reports[0].engine)
        .map((m) => m.name);
      expect(applied).toEqual(expected);
      const log = await db.pool.query('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version');
      expect(log.rows.every((r) => r.n === 1)).toBe(true);
      expect(log.rows).toHaveLength(expected.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

describe('iot-pipeline migrate (the command)', () => {
  const KEYS = [
    'POSTGRES_HOST',
    'POSTGRES_PORT',
    'POSTGRES_DB',
    'POSTGRES_USER',
    'POSTGRES_PASSWORD',
    'TELEMETRY_RETENTION',
    'MIGRATE_WAIT_SECONDS',
  ];
  const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate_cli');
  });
  afterEach(() => {
    for (const k of KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    process.exitCode = undefined;
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await db?.drop();
  });

  function capture(stream: NodeJS.WriteStream): string[] {
    const out: string[] = [];
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    return out;
  }

  it('migrates the configured database and prints the engine and what it applied', async () => {
    Object.assign(process.env, db.env, { TELEMETRY_RETENTION: '30 days' });
    const out = capture(process.stdout);
    await run([]);
    expect(process.exitCode).toBeUndefined();
    const text = out.join('');
    expect(text).toMatch(/engine: (TimescaleDB .* on PostgreSQL|PostgreSQL .* without TimescaleDB)/);
    expect(text).toContain('migrations applied: 0001_tables');
    out.length = 0;
    await run([]);
    expect(out.join('')).toMatch(/migrations: up to date/);
  });

  it('fails with a clear message and a non-zero exit code when the database is missing', async () => {
    Object.assign(process.env, db.env, { POSTGRES_DB: `${db.name}_missing`, MIGRATE_WAIT_SECONDS: '0' });
    const err = capture(process.stderr);
    capture(process.stdout);
    await run([]);
    expect(process.exitCode).toBe(1);
    expect(err.join('')).toMatch(/migrate failed on .*_missing: database ".*_missing" does not exist/);
  });
});
