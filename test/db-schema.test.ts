import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { Engine, defaultMigrationsDir, formatReport, migrate, MigrateLogger, MigrateReport, MigrationError } from '../db/migrate';
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
import { adminSql } from '../testkit/pg-admin';
import { createTestDatabase, TestDatabase } from '../testkit/pg';
import { pauseRefreshPolicies } from '../testkit/timescaledb';

/**
 * The schema migrate builds, on both engines of the one server: a database migrated with
 * engine 'timescaledb' and one with engine 'postgresql' (plain tables although the server has
 * the extension, as on a managed server without it). Each describe names its engine, so the
 * file tests the same whatever MIGRATE_ENGINE says, and is not part of `npm run test:postgresql`.
 */

const ROLLUP_COLUMNS = [
  ['bucket', 'timestamp with time zone'],
  ['device_id', 'text'],
  ...['temperature', 'humidity', 'battery'].flatMap((m) => ['avg', 'min', 'max'].map((f) => [`${f}_${m}`, 'double precision'])),
  ['reading_count', 'bigint'],
  // the per-metric counts and sums, on both engines (0004 for TimescaleDB, 0007 for PostgreSQL),
  ...['temperature', 'humidity', 'battery'].flatMap((m) => [
    [`${m}_count`, 'bigint'],
    [`${m}_sum`, 'double precision'],
  ]),
  // and the sums of squares, for standard deviations
  ...['temperature', 'humidity', 'battery'].map((m) => [`${m}_sumsq`, 'double precision']),
];

function recorder(): MigrateLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    info: (_o: object, msg?: string) => void infos.push(msg ?? ''),
    warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''),
  };
}

/** A fresh database, not yet migrated: the first migrate run is part of what is tested. */
async function freshDatabase(engine: Engine): Promise<TestDatabase> {
  return createTestDatabase(`schema_${engine}`);
}

async function arrays(pool: Pool, sql: string): Promise<ArrayResult> {
  const r = await pool.query({ text: sql, rowMode: 'array' });
  return { fields: r.fields.map((f) => f.name), rows: r.rows as unknown[][] };
}

/** Catalog objects with their oids and the migration log: equal before and after a run that changed nothing. */
async function fingerprint(pool: Pool): Promise<unknown> {
  const objects = await pool.query(
    `SELECT c.oid::int, c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
     UNION ALL SELECT p.oid::int, p.proname, 'f' FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname = 'time_bucket'
     ORDER BY 1`,
  );
  const log = await pool.query('SELECT version, name, engine, checksum, applied_at FROM schema_migrations ORDER BY version');
  return { objects: objects.rows, log: log.rows };
}

async function columnsOf(pool: Pool, relation: string): Promise<string[][]> {
  const r = await pool.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [relation],
  );
  return r.rows.map((c) => [c.column_name, c.data_type]);
}

async function extensionInstalled(pool: Pool): Promise<boolean> {
  return (await pool.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)).rows.length > 0;
}

async function runSeedQueries(pool: Pool): Promise<void> {
  await pool.query('TRUNCATE device_telemetry');
  const { now, readings, outlier } = fixtureReadings();
  const insert = insertReadings(readings);
  await pool.query(insert.text, insert.values);
  const expected = expectedResults(readings, now);
  for (const name of Object.keys(SEED_SQL) as SeedQuery[]) {
    const result = await arrays(pool, SEED_SQL[name]);
    expect({ name, fields: result.fields }).toEqual({ name, fields: EXPECTED_FIELDS[name] });
    expect({ name, rows: normalizeResult(name, result) }).toEqual({ name, rows: expected[name] });
    if (name === 'temperatureTrends') {
      const buckets = result.rows.map((r) => (r[0] as Date).getTime());
      expect(buckets).toEqual([...buckets].sort((a, b) => b - a));
    }
  }
  expect(expected.anomalies).toHaveLength(1);
  expect((expected.anomalies[0] as unknown[])[0]).toBe(outlier.time.toISOString());
}

/**
 * An hour ago at microsecond precision: recent, so that no retention job the scheduler runs
 * meanwhile (migrate re-creates the job when its setting changes, and a new job is due at once)
 * can drop the chunk under the test.
 */
function recentMicrosecondTime(): string {
  const ms = Date.now() - 3_600_000;
  return `${new Date(ms).toISOString().slice(0, 19)}.123456Z`;
}

async function expectDuplicateRejected(pool: Pool, device: string, time: string): Promise<void> {
  await pool.query(`INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, 20)`, [time, device]);
  await expect(
    pool.query(`INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, 99)`, [time, device]),
  ).rejects.toMatchObject({
    code: '23505',
    message: expect.stringMatching(/duplicate key value violates unique constraint/),
  });
  const skipped = await pool.query(
    `INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, 99) ON CONFLICT (device_id, time) DO NOTHING`,
    [time, device],
  );
  expect(skipped.rowCount).toBe(0);
  // The same device a microsecond later is another reading.
  const other = await pool.query(`INSERT INTO device_telemetry (time, device_id) VALUES ($1::timestamptz + interval '1 microsecond', $2)`, [
    time,
    device,
  ]);
  expect(other.rowCount).toBe(1);
  const rows = await pool.query<{ temperature: number }>(`SELECT temperature FROM device_telemetry WHERE device_id = $1 AND time = $2`, [
    device,
    time,
  ]);
  expect(rows.rows).toEqual([{ temperature: 20 }]);
}

const GROUP_ROLES = ['iot_writer', 'iot_reader'];

/**
 * The group roles are cluster-wide and the stack's `iot` role may not create them (no
 * CREATEROLE, on purpose): made first where missing, as an operator would (testkit/pg-admin).
 */
async function ensureGroupRoles(pool: Pool): Promise<void> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1)`, [GROUP_ROLES]);
  if (rows[0].n === GROUP_ROLES.length) return;
  await adminSql(
    `DO $$ DECLARE r text; BEGIN FOREACH r IN ARRAY ARRAY['${GROUP_ROLES.join("','")}'] LOOP
       BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN', r); EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
     END LOOP; END $$`,
  );
}

/** Each group role's privileges on the tables and rollups of this database. */
async function privileges(pool: Pool): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT r AS role, rel, string_agg(p, ',' ORDER BY p) FILTER (WHERE has_table_privilege(r, rel, p)) AS held
       FROM unnest($1::text[]) r,
            unnest(ARRAY['device_telemetry', 'device_alerts', 'device_telemetry_1m', 'device_telemetry_1h']) rel,
            unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
      GROUP BY r, rel ORDER BY r, rel`,
    [GROUP_ROLES],
  );
  return rows;
}

const EXPECTED_PRIVILEGES = [
  { role: 'iot_reader', rel: 'device_alerts', held: 'SELECT' },
  { role: 'iot_reader', rel: 'device_telemetry', held: 'SELECT' },
  { role: 'iot_reader', rel: 'device_telemetry_1h', held: 'SELECT' },
  { role: 'iot_reader', rel: 'device_telemetry_1m', held: 'SELECT' },
  { role: 'iot_writer', rel: 'device_alerts', held: 'INSERT,SELECT' },
  { role: 'iot_writer', rel: 'device_telemetry', held: 'INSERT,SELECT' },
  { role: 'iot_writer', rel: 'device_telemetry_1h', held: null },
  { role: 'iot_writer', rel: 'device_telemetry_1m', held: null },
];

describe('migrate on TimescaleDB (engine timescaledb)', () => {
  let db: TestDatabase;
  let first: MigrateReport;
  let second: MigrateReport;
  let firstLog: ReturnType<typeof recorder>;
  let secondLog: ReturnType<typeof recorder>;
  let before: unknown;

  beforeAll(async () => {
    db = await freshDatabase('timescaledb');
    await ensureGroupRoles(db.pool);
    firstLog = recorder();
    first = await migrate(db.pool, { logger: firstLog, engine: 'timescaledb' });
    before = await fingerprint(db.pool);
    secondLog = recorder();
    second = await migrate(db.pool, { logger: secondLog, engine: 'timescaledb' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('applies every migration for TimescaleDB once; a second run changes nothing', async () => {
    expect(first.engine).toBe('timescaledb');
    expect(first.timescaledbVersion).toMatch(/^2\.\d+\.\d+$/);
    expect(first.applied).toEqual(['0001_tables', '0003_hypertable', '0004_rollups', '0005_roles']);
    expect(first.missing).toEqual([]);
    expect(first.warnings).toEqual([]);
    expect(firstLog.warnings).toEqual([]);
    expect(first.policies.map((p) => [p.name, p.action])).toEqual([
      ['compression', 'created'],
      ['retention', 'created'],
      ['refresh device_telemetry_1m', 'created'],
      ['refresh device_telemetry_1h', 'created'],
    ]);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    expect(second.policies.every((p) => p.action === 'unchanged')).toBe(true);
    expect(secondLog.infos).toEqual([]);
    expect(await fingerprint(db.pool)).toEqual(before);
    expect(formatReport(second)).toMatch(/^engine: TimescaleDB 2\.\d+\.\d+ on PostgreSQL \d+/);
  });

  it('makes device_telemetry a hypertable on time with 1-day chunks and the identity index', async () => {
    const h = await db.pool.query(`SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables`);
    expect(h.rows).toEqual([{ hypertable_name: 'device_telemetry', compression_enabled: true }]);
    const d = await db.pool.query<{ column_name: string; day: boolean }>(
      `SELECT column_name, time_interval = interval '1 day' AS day FROM timescaledb_information.dimensions WHERE hypertable_name = 'device_telemetry'`,
    );
    expect(d.rows).toEqual([{ column_name: 'time', day: true }]);
    const idx = await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'device_telemetry' ORDER BY indexname`,
    );
    expect(idx.rows.map((i) => i.indexname)).toEqual(['device_telemetry_device_id_time_idx', 'device_telemetry_time_idx']);
    expect(idx.rows[0].indexdef).toMatch(/UNIQUE INDEX .* \(device_id, "time" DESC\)/);
    expect(await columnsOf(db.pool, 'device_telemetry')).toEqual([
      ['time', 'timestamp with time zone'],
      ['device_id', 'text'],
      ['firmware', 'text'],
      ['temperature', 'double precision'],
      ['humidity', 'double precision'],
      ['battery', 'double precision'],
    ]);
  });

  it('compresses segmented by device_id, ordered by time DESC', async () => {
    const s = await db.pool.query(
      `SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc
         FROM timescaledb_information.compression_settings WHERE hypertable_name = 'device_telemetry' ORDER BY attname`,
    );
    expect(s.rows).toEqual([
      { attname: 'device_id', segmentby_column_index: 1, orderby_column_index: null, orderby_asc: null },
      { attname: 'time', segmentby_column_index: null, orderby_column_index: 1, orderby_asc: false },
    ]);
  });

  it('registers the compression, retention and refresh jobs from the options', async () => {
    const jobs = await db.pool.query<{ proc_name: string; hypertable_name: string; config: Record<string, unknown>; schedule: string }>(
      `SELECT proc_name, hypertable_name, config, schedule_interval::text AS schedule FROM timescaledb_information.jobs
        WHERE proc_name LIKE 'policy_%' ORDER BY job_id`,
    );
    const byProc = (p: string) => jobs.rows.filter((j) => j.proc_name === p);
    expect(byProc('policy_compression')).toEqual([
      expect.objectContaining({ hypertable_name: 'device_telemetry', config: expect.objectContaining({ compress_after: '7 days' }) }),
    ]);
    expect(byProc('policy_retention')).toEqual([
      expect.objectContaining({ hypertable_name: 'device_telemetry', config: expect.objectContaining({ drop_after: '90 days' }) }),
    ]);
    const refresh = byProc('policy_refresh_continuous_aggregate');
    expect(refresh.map((j) => [j.config.start_offset, j.config.end_offset, j.schedule])).toEqual([
      ['7 days', '00:01:00', '00:01:00'],
      ['7 days', '01:00:00', '00:30:00'],
    ]);
  });

  it('re-applies a changed policy on the next run and leaves the others alone', async () => {
    const jobIds = async () =>
      (
        await db.pool.query<{ proc_name: string; job_id: number }>(
          `SELECT proc_name, job_id FROM timescaledb_information.jobs WHERE proc_name LIKE 'policy_%' ORDER BY proc_name, job_id`,
        )
      ).rows;
    const start = await jobIds();
    const changed = await migrate(db.pool, { retention: '30 days', compressAfter: '168 hours', logger: recorder(), engine: 'timescaledb' });
    expect(changed.policies.map((p) => [p.name, p.action])).toEqual([
      ['compression', 'unchanged'], // 168 hours is 7 days
      ['retention', 'updated'],
      ['refresh device_telemetry_1m', 'unchanged'],
      ['refresh device_telemetry_1h', 'unchanged'],
    ]);
    const retention = await db.pool.query<{ drop_after: string }>(
      `SELECT config->>'drop_after' AS drop_after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'`,
    );
    expect(retention.rows).toEqual([{ drop_after: '30 days' }]);

    // A retention shorter than a rollup's refresh window narrows the window, so rollups outlive raw data.
    const short = await migrate(db.pool, { retention: '2 days', logger: recorder(), engine: 'timescaledb' });
    expect(short.policies.find((p) => p.name === 'refresh device_telemetry_1h')).toMatchObject({
      action: 'updated',
      setting: expect.stringContaining('86400 seconds'),
    });
    expect(short.policies.find((p) => p.name === 'refresh device_telemetry_1m')).toMatchObject({
      action: 'updated',
      setting: expect.stringContaining('86400 seconds'),
    });

    const back = await migrate(db.pool, { logger: recorder(), engine: 'timescaledb' });
    expect(back.policies.map((p) => p.action)).toEqual(['unchanged', 'updated', 'updated', 'updated']);
    const end = await jobIds();
    expect(end.find((j) => j.proc_name === 'policy_compression')).toEqual(start.find((j) => j.proc_name === 'policy_compression'));
  });

  it('keeps one row per (device_id, time): a duplicate is rejected, ON CONFLICT DO NOTHING skips it', async () => {
    await expectDuplicateRejected(db.pool, 'dup-device', recentMicrosecondTime());
  });

  it('has both continuous aggregates with the rollup columns, and they return rows after a refresh', async () => {
    const caggs = await db.pool.query<{ view_name: string; materialized_only: boolean; schema: string; table: string }>(
      `SELECT view_name, materialized_only, materialization_hypertable_schema AS schema, materialization_hypertable_name AS table
         FROM timescaledb_information.continuous_aggregates ORDER BY view_name`,
    );
    expect(caggs.rows.map((c) => [c.view_name, c.materialized_only])).toEqual([
      ['device_telemetry_1h', false],
      ['device_telemetry_1m', false],
    ]);
    for (const view of ['device_telemetry_1m', 'device_telemetry_1h']) expect(await columnsOf(db.pool, view)).toEqual(ROLLUP_COLUMNS);

    // The scheduler refreshes the 1-minute aggregate every minute; a CALL meeting one of its runs
    // fails ("due to a concurrent refresh"). From here the refreshes are this test's.
    await pauseRefreshPolicies(db.pool);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const readings = [];
    for (const device of ['agg-1', 'agg-2']) {
      for (let i = 0; i < 9; i++) {
        readings.push({
          time: new Date(hour + i * 20_000),
          device_id: device,
          firmware: '1',
          temperature: 20 + i,
          humidity: 50,
          battery: device === 'agg-1' ? 80 - i : 60,
        });
      }
    }
    const insert = insertReadings(readings);
    await db.pool.query(insert.text, insert.values);

    const materialized = async (view: string) => {
      const c = caggs.rows.find((x) => x.view_name === view)!;
      return Number((await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${c.schema}.${c.table}`)).rows[0].n);
    };
    for (const view of ['device_telemetry_1m', 'device_telemetry_1h']) {
      await db.pool.query(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
      expect(await materialized(view)).toBeGreaterThan(0);
    }
    const perMinute = await db.pool.query(
      `SELECT bucket, device_id, reading_count::int AS n, avg_temperature AS avg, min_battery, temperature_count::int AS tn, temperature_sum AS ts
         FROM device_telemetry_1m WHERE device_id = 'agg-1' ORDER BY bucket`,
    );
    expect(perMinute.rows).toEqual([
      { bucket: new Date(hour), device_id: 'agg-1', n: 3, avg: 21, min_battery: 78, tn: 3, ts: 63 },
      { bucket: new Date(hour + 60_000), device_id: 'agg-1', n: 3, avg: 24, min_battery: 75, tn: 3, ts: 72 },
      { bucket: new Date(hour + 120_000), device_id: 'agg-1', n: 3, avg: 27, min_battery: 72, tn: 3, ts: 81 },
    ]);
    const perHour = await db.pool.query(
      `SELECT bucket, device_id, reading_count::int AS n, avg_temperature AS avg, max_temperature AS max FROM device_telemetry_1h
        WHERE device_id LIKE 'agg-%' ORDER BY device_id`,
    );
    expect(perHour.rows).toEqual([
      { bucket: new Date(hour), device_id: 'agg-1', n: 9, avg: 24, max: 28 },
      { bucket: new Date(hour), device_id: 'agg-2', n: 9, avg: 24, max: 28 },
    ]);
  });

  it('compression and retention jobs run, and compressed chunks still skip known identities', async () => {
    const day = 86_400_000;
    const old = insertReadings([
      { time: new Date(Date.now() - 10 * day), device_id: 'cmp-1', firmware: '1', temperature: 20, humidity: 50, battery: 90 },
      { time: new Date(Date.now() - 100 * day), device_id: 'expired-1', firmware: '1', temperature: 20, humidity: 50, battery: 90 },
    ]);
    await db.pool.query(old.text, old.values);
    const job = async (proc: string) =>
      (await db.pool.query<{ job_id: number }>(`SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = $1`, [proc])).rows[0]
        .job_id;
    // run_job here; test/db-timescaledb.test.ts runs the same jobs through the scheduler
    await db.pool.query(`CALL run_job(${await job('policy_compression')})`);
    await db.pool.query(`CALL run_job(${await job('policy_retention')})`);

    const chunks = await db.pool.query<{ compressed: boolean }>(
      `SELECT bool_and(is_compressed) AS compressed FROM timescaledb_information.chunks
        WHERE hypertable_name = 'device_telemetry' AND range_end < now() - interval '7 days'`,
    );
    expect(chunks.rows).toEqual([{ compressed: true }]);
    const rows = await db.pool.query<{ device_id: string }>(
      `SELECT device_id FROM device_telemetry WHERE device_id IN ('cmp-1', 'expired-1')`,
    );
    expect(rows.rows).toEqual([{ device_id: 'cmp-1' }]);

    const again = await db.pool.query(old.text, old.values); // a replay of both readings
    expect(again.rowCount).toBe(1); // the expired one comes back once; the compressed one is skipped
    const cmp = await db.pool.query<{ time: Date }>(`SELECT time FROM device_telemetry WHERE device_id = 'cmp-1'`);
    expect(cmp.rows).toHaveLength(1);
    await expect(
      db.pool.query(`INSERT INTO device_telemetry (time, device_id) VALUES ($1, 'cmp-1')`, [cmp.rows[0].time]),
    ).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('runs the reference queries unchanged and returns the expected rows', async () => {
    await runSeedQueries(db.pool);
  });

  it('grants the group roles exactly their privileges, the continuous aggregates included', async () => {
    expect(await privileges(db.pool)).toEqual(EXPECTED_PRIVILEGES);
  });
});

describe('migrate on plain PostgreSQL (engine postgresql, on the same server)', () => {
  let db: TestDatabase;
  let first: MigrateReport;
  let second: MigrateReport;
  let firstLog: ReturnType<typeof recorder>;
  let before: unknown;

  beforeAll(async () => {
    db = await freshDatabase('postgresql');
    await ensureGroupRoles(db.pool);
    firstLog = recorder();
    first = await migrate(db.pool, { logger: firstLog, retention: '30 days', engine: 'postgresql' });
    before = await fingerprint(db.pool);
    second = await migrate(db.pool, { logger: recorder(), engine: 'postgresql' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('applies the plain migrations once, warns once naming what is missing, and a second run changes nothing', async () => {
    expect(first.engine).toBe('postgresql');
    expect(first.timescaledbVersion).toBeNull();
    expect(await extensionInstalled(db.pool)).toBe(false);
    expect(first.applied).toEqual([
      '0001_tables',
      '0002_time_bucket',
      '0004_rollups',
      '0005_roles',
      '0006_time_bucket_inline',
      '0007_rollup_state',
      '0008_time_bucket_timezone',
    ]);
    expect(first.policies).toEqual([]);
    expect(first.missing).toEqual(['hypertable', 'compression', 'retention policy', 'continuous aggregates']);
    expect(firstLog.warnings).toHaveLength(1);
    // the server offers the extension: the warning says the setting chose not to use it
    expect(firstLog.warnings[0]).toMatch(/^TimescaleDB is not used \(MIGRATE_ENGINE=postgresql\)/);
    for (const word of ['hypertable', 'compression', 'retention', 'continuous aggregates', '30 days'])
      expect(firstLog.warnings[0]).toContain(word);
    expect(second.applied).toEqual([]);
    expect(await fingerprint(db.pool)).toEqual(before);
    expect(formatReport(first)).toContain('without TimescaleDB');
  });

  it('stays plain when migrate runs again with engine auto on a server that offers TimescaleDB', async () => {
    const log = recorder();
    const auto = await migrate(db.pool, { logger: log, engine: 'auto' });
    expect(auto.engine).toBe('postgresql');
    expect(auto.applied).toEqual([]);
    expect(auto.warnings).toEqual(expect.arrayContaining([expect.stringContaining('converting it is a manual operation')]));
    expect(await extensionInstalled(db.pool)).toBe(false);
    await expect(migrate(db.pool, { logger: recorder(), engine: 'timescaledb' })).rejects.toThrow(
      /MIGRATE_ENGINE=timescaledb, but this schema was created on postgresql/,
    );
  });

  it('creates the same tables, the identity index, and rollup views with the columns of the continuous aggregates', async () => {
    const rel = await db.pool.query<{ relname: string; relkind: string }>(
      `SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v') ORDER BY relname`,
    );
    expect(rel.rows).toEqual([
      { relname: 'device_alerts', relkind: 'r' },
      { relname: 'device_telemetry', relkind: 'r' },
      { relname: 'device_telemetry_1h', relkind: 'v' },
      { relname: 'device_telemetry_1h_state', relkind: 'r' },
      { relname: 'device_telemetry_1m', relkind: 'v' },
      { relname: 'device_telemetry_1m_state', relkind: 'r' },
      { relname: 'schema_migrations', relkind: 'r' },
    ]);
    const idx = await db.pool.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'device_telemetry' ORDER BY indexname`,
    );
    expect(idx.rows.map((i) => i.indexname)).toEqual(['device_telemetry_device_id_time_idx', 'device_telemetry_time_idx']);
    for (const view of ['device_telemetry_1m', 'device_telemetry_1h']) expect(await columnsOf(db.pool, view)).toEqual(ROLLUP_COLUMNS);
    expect((await columnsOf(db.pool, 'device_alerts')).map((c) => c[0])).toEqual([
      'alert_id',
      'device_id',
      'kind',
      'metric',
      'value',
      'mean',
      'stddev',
      'z',
      'threshold',
      'reading_time',
      'detected_at',
      'details',
    ]);
  });

  it('keeps one row per (device_id, time)', async () => {
    await expectDuplicateRejected(db.pool, 'dup-device', recentMicrosecondTime());
  });

  it('time_bucket buckets like TimescaleDB (origin 2000-01-03, months from 2000-01-01)', async () => {
    // test/db-time-bucket.test.ts compares the shim with TimescaleDB's own at random; these are fixed points
    const r = await db.pool.query(
      `SELECT time_bucket('5 minutes', timestamptz '2024-05-17 12:03:59+00') AS a,
              time_bucket('7 days', timestamptz '2024-05-17 12:00+00') AS b,
              time_bucket('1 month', timestamptz '2024-05-17 12:00+00') AS c,
              time_bucket('5 minutes', timestamptz '2024-05-17 12:03+00', "offset" => '1 minute') AS d,
              time_bucket('1 day', timestamptz '2024-05-17 01:00+00', 'Europe/Berlin') AS e`,
    );
    expect(r.rows[0]).toEqual({
      a: new Date('2024-05-17T12:00:00Z'),
      b: new Date('2024-05-13T00:00:00Z'),
      c: new Date('2024-05-01T00:00:00Z'),
      d: new Date('2024-05-17T12:01:00Z'),
      e: new Date('2024-05-16T22:00:00Z'),
    });
  });

  it('runs the reference queries unchanged and returns the expected rows', async () => {
    await runSeedQueries(db.pool);
    const m = await db.pool.query<{ n: number }>(`SELECT sum(reading_count)::int AS n FROM device_telemetry_1m`);
    expect(m.rows[0].n).toBe((await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM device_telemetry`)).rows[0].n);
  });

  it('grants the group roles exactly their privileges, and says on each run when one lacks them', async () => {
    const roles = await db.pool.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1`, [GROUP_ROLES]);
    expect(roles.rows).toEqual([
      { rolname: 'iot_reader', rolcanlogin: false },
      { rolname: 'iot_writer', rolcanlogin: false },
    ]);
    expect(await privileges(db.pool)).toEqual(EXPECTED_PRIVILEGES);

    await db.pool.query('REVOKE ALL ON device_telemetry FROM iot_reader');
    const after = await migrate(db.pool, { logger: recorder(), engine: 'postgresql' });
    expect(after.warnings.filter((w) => w.includes('group role'))).toEqual([
      expect.stringMatching(/^group role iot_reader exists but has no privileges .*run db\/migrations\/0005_roles\.sql again/),
    ]);
    // The fix the warning gives: the migration file again, as the owner of the tables.
    await db.pool.query(readFileSync(path.join(defaultMigrationsDir(), '0005_roles.sql'), 'utf8'));
    expect((await migrate(db.pool, { logger: recorder(), engine: 'postgresql' })).warnings.filter((w) => w.includes('group role'))).toEqual(
      [],
    );
    expect(await privileges(db.pool)).toEqual(EXPECTED_PRIVILEGES);
  });

  it('refuses a migration edited after it was applied, and reports migrations it does not know', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      writeFileSync(path.join(dir, '0099_extra.sql'), 'CREATE TABLE extra_table (id int);\n');
      const extra = await migrate(db.pool, { migrationsDir: dir, logger: recorder(), engine: 'postgresql' });
      expect(extra.applied).toEqual(['0099_extra']);
      const older = await migrate(db.pool, { logger: recorder(), engine: 'postgresql' });
      expect(older.warnings.join('\n')).toContain('0099_extra');

      appendFileSync(path.join(dir, '0001_tables.sql'), '-- edited\n');
      const error = await migrate(db.pool, { migrationsDir: dir, logger: recorder(), engine: 'postgresql' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(/0001_tables\.sql was changed after it was applied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls a failing migration back whole and names it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      writeFileSync(path.join(dir, '0100_broken.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');
      const error = await migrate(db.pool, { migrationsDir: dir, logger: recorder(), engine: 'postgresql' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(/0100_broken\.sql failed: .*no_such_function/);
      const left = await db.pool.query(
        `SELECT to_regclass('half_done') AS t, (SELECT count(*)::int FROM schema_migrations WHERE version = 100) AS n`,
      );
      expect(left.rows).toEqual([{ t: null, n: 0 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
