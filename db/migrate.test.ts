import { cpSync, mkdtempSync, appendFileSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGliteDb, startPGlite } from './pglite';
import { defaultMigrationsDir, formatReport, migrate, MigrateLogger, MigrateReport, MigrationError, refreshStartOffset } from './migrate';
import { ArrayResult, EXPECTED_FIELDS, expectedResults, fixtureReadings, insertReadings, normalizeResult, SEED_SQL, SeedQuery } from '../testkit/seed-queries';

/** PGlite (PostgreSQL 17 in WASM) with and without the real TimescaleDB 2.23; one instance per engine for the file. */

const ROLLUP_COLUMNS = [
  ['bucket', 'timestamp with time zone'],
  ['device_id', 'text'],
  ...['temperature', 'humidity', 'battery'].flatMap((m) => ['avg', 'min', 'max'].map((f) => [`${f}_${m}`, 'double precision'])),
  ['reading_count', 'bigint'],
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

async function arrays(db: PGliteDb, sql: string): Promise<ArrayResult> {
  const r = await db.query<unknown[]>(sql, [], { rowMode: 'array' });
  return { fields: r.fields.map((f) => f.name), rows: r.rows };
}

/** Catalog objects with their oids and the migration log: equal before and after a run that changed nothing. */
async function fingerprint(db: PGliteDb): Promise<unknown> {
  const objects = await db.query(
    `SELECT c.oid::int, c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
     UNION ALL SELECT p.oid::int, p.proname, 'f' FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname = 'time_bucket'
     ORDER BY 1`,
  );
  const log = await db.query('SELECT version, name, engine, checksum, applied_at FROM schema_migrations ORDER BY version');
  return { objects: objects.rows, log: log.rows };
}

async function columnsOf(db: PGliteDb, relation: string): Promise<string[][]> {
  const r = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
    [relation],
  );
  return r.rows.map((c) => [c.column_name, c.data_type]);
}

async function runSeedQueries(db: PGliteDb): Promise<void> {
  await db.query('TRUNCATE device_telemetry');
  const { now, readings, outlier } = fixtureReadings();
  const insert = insertReadings(readings);
  await db.query(insert.text, insert.values);
  const expected = expectedResults(readings, now);
  for (const name of Object.keys(SEED_SQL) as SeedQuery[]) {
    const result = await arrays(db, SEED_SQL[name]);
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

async function expectDuplicateRejected(db: PGliteDb, device: string, time: string): Promise<void> {
  await db.query(`INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, 20)`, [time, device]);
  await expect(db.query(`INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, 99)`, [time, device])).rejects.toThrow(
    /duplicate key value violates unique constraint/,
  );
  const skipped = await db.query(
    `INSERT INTO device_telemetry (time, device_id, temperature) VALUES ($1, $2, 99) ON CONFLICT (device_id, time) DO NOTHING`,
    [time, device],
  );
  expect(skipped.affectedRows).toBe(0);
  // The same device a microsecond later is another reading.
  const other = await db.query(`INSERT INTO device_telemetry (time, device_id) VALUES ($1::timestamptz + interval '1 microsecond', $2)`, [time, device]);
  expect(other.affectedRows).toBe(1);
  const rows = await db.query<{ temperature: number }>(`SELECT temperature FROM device_telemetry WHERE device_id = $1 AND time = $2`, [device, time]);
  expect(rows.rows).toEqual([{ temperature: 20 }]);
}

describe('migrate on TimescaleDB (PGlite with TimescaleDB 2.23)', () => {
  let db: PGliteDb;
  let first: MigrateReport;
  let second: MigrateReport;
  let firstLog: ReturnType<typeof recorder>;
  let secondLog: ReturnType<typeof recorder>;
  let before: unknown;

  beforeAll(async () => {
    db = await startPGlite({ timescaledb: true });
    process.stdout.write(`PGlite with TimescaleDB started in ${db.startupMs} ms\n`);
    firstLog = recorder();
    first = await migrate(db, { logger: firstLog });
    before = await fingerprint(db);
    secondLog = recorder();
    second = await migrate(db, { logger: secondLog });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('applies every migration for TimescaleDB once; a second run changes nothing', async () => {
    expect(first.engine).toBe('timescaledb');
    expect(first.timescaledbVersion).toMatch(/^2\.\d+/);
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
    expect(await fingerprint(db)).toEqual(before);
    expect(formatReport(second)).toMatch(/^engine: TimescaleDB 2\.\d+.* on PostgreSQL 17/);
  });

  it('makes device_telemetry a hypertable on time with 1-day chunks and the identity index', async () => {
    const h = await db.query(`SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables`);
    expect(h.rows).toEqual([{ hypertable_name: 'device_telemetry', compression_enabled: true }]);
    const d = await db.query<{ column_name: string; day: boolean }>(
      `SELECT column_name, time_interval = interval '1 day' AS day FROM timescaledb_information.dimensions WHERE hypertable_name = 'device_telemetry'`,
    );
    expect(d.rows).toEqual([{ column_name: 'time', day: true }]);
    const idx = await db.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'device_telemetry' ORDER BY indexname`,
    );
    expect(idx.rows.map((i) => i.indexname)).toEqual(['device_telemetry_device_id_time_idx', 'device_telemetry_time_idx']);
    expect(idx.rows[0].indexdef).toMatch(/UNIQUE INDEX .* \(device_id, "time" DESC\)/);
    expect(await columnsOf(db, 'device_telemetry')).toEqual([
      ['time', 'timestamp with time zone'],
      ['device_id', 'text'],
      ['firmware', 'text'],
      ['temperature', 'double precision'],
      ['humidity', 'double precision'],
      ['battery', 'double precision'],
    ]);
  });

  it('compresses segmented by device_id, ordered by time DESC', async () => {
    const s = await db.query(
      `SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc
         FROM timescaledb_information.compression_settings WHERE hypertable_name = 'device_telemetry' ORDER BY attname`,
    );
    expect(s.rows).toEqual([
      { attname: 'device_id', segmentby_column_index: 1, orderby_column_index: null, orderby_asc: null },
      { attname: 'time', segmentby_column_index: null, orderby_column_index: 1, orderby_asc: false },
    ]);
  });

  it('registers the compression, retention and refresh jobs from the options', async () => {
    const jobs = await db.query<{ proc_name: string; hypertable_name: string; config: Record<string, unknown>; schedule: string }>(
      `SELECT proc_name, hypertable_name, config, schedule_interval::text AS schedule FROM timescaledb_information.jobs
        WHERE proc_name LIKE 'policy_%' ORDER BY job_id`,
    );
    const byProc = (p: string) => jobs.rows.filter((j) => j.proc_name === p);
    expect(byProc('policy_compression')).toEqual([expect.objectContaining({ hypertable_name: 'device_telemetry', config: expect.objectContaining({ compress_after: '7 days' }) })]);
    expect(byProc('policy_retention')).toEqual([expect.objectContaining({ hypertable_name: 'device_telemetry', config: expect.objectContaining({ drop_after: '90 days' }) })]);
    const refresh = byProc('policy_refresh_continuous_aggregate');
    expect(refresh.map((j) => [j.config.start_offset, j.config.end_offset, j.schedule])).toEqual([
      ['1 day', '00:01:00', '00:01:00'],
      ['7 days', '01:00:00', '00:30:00'],
    ]);
  });

  it('re-applies a changed policy on the next run and leaves the others alone', async () => {
    const jobIds = async () =>
      (await db.query<{ proc_name: string; job_id: number }>(`SELECT proc_name, job_id FROM timescaledb_information.jobs WHERE proc_name LIKE 'policy_%' ORDER BY proc_name, job_id`)).rows;
    const start = await jobIds();
    const changed = await migrate(db, { retention: '30 days', compressAfter: '168 hours', logger: recorder() });
    expect(changed.policies.map((p) => [p.name, p.action])).toEqual([
      ['compression', 'unchanged'], // 168 hours is 7 days
      ['retention', 'updated'],
      ['refresh device_telemetry_1m', 'unchanged'],
      ['refresh device_telemetry_1h', 'unchanged'],
    ]);
    const retention = await db.query<{ drop_after: string }>(`SELECT config->>'drop_after' AS drop_after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'`);
    expect(retention.rows).toEqual([{ drop_after: '30 days' }]);

    // A retention shorter than a rollup's refresh window narrows the window, so rollups outlive raw data.
    const short = await migrate(db, { retention: '2 days', logger: recorder() });
    expect(short.policies.find((p) => p.name === 'refresh device_telemetry_1h')).toMatchObject({ action: 'updated', setting: expect.stringContaining('86400 seconds') });
    expect(short.policies.find((p) => p.name === 'refresh device_telemetry_1m')?.action).toBe('unchanged');

    const back = await migrate(db, { logger: recorder() });
    expect(back.policies.map((p) => p.action)).toEqual(['unchanged', 'updated', 'unchanged', 'updated']);
    const end = await jobIds();
    expect(end.find((j) => j.proc_name === 'policy_compression')).toEqual(start.find((j) => j.proc_name === 'policy_compression'));
  });

  it('keeps one row per (device_id, time): a duplicate is rejected, ON CONFLICT DO NOTHING skips it', async () => {
    await expectDuplicateRejected(db, 'dup-device', '2026-01-02T03:04:05.123456Z');
  });

  it('has both continuous aggregates with the rollup columns, and they return rows after a refresh', async () => {
    const caggs = await db.query<{ view_name: string; materialized_only: boolean; schema: string; table: string }>(
      `SELECT view_name, materialized_only, materialization_hypertable_schema AS schema, materialization_hypertable_name AS table
         FROM timescaledb_information.continuous_aggregates ORDER BY view_name`,
    );
    expect(caggs.rows.map((c) => [c.view_name, c.materialized_only])).toEqual([
      ['device_telemetry_1h', false],
      ['device_telemetry_1m', false],
    ]);
    for (const view of ['device_telemetry_1m', 'device_telemetry_1h']) expect(await columnsOf(db, view)).toEqual(ROLLUP_COLUMNS);

    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const readings = [];
    for (const device of ['agg-1', 'agg-2']) {
      for (let i = 0; i < 9; i++) {
        readings.push({ time: new Date(hour + i * 20_000), device_id: device, firmware: '1', temperature: 20 + i, humidity: 50, battery: device === 'agg-1' ? 80 - i : 60 });
      }
    }
    const insert = insertReadings(readings);
    await db.query(insert.text, insert.values);

    const materialized = async (table: string) => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${caggs.rows.find((c) => c.view_name === table)!.schema}.${caggs.rows.find((c) => c.view_name === table)!.table}`)).rows[0].n);
    for (const view of ['device_telemetry_1m', 'device_telemetry_1h']) {
      await db.query(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
      expect(await materialized(view)).toBeGreaterThan(0);
    }
    const perMinute = await db.query(
      `SELECT bucket, device_id, reading_count::int AS n, avg_temperature AS avg, min_battery FROM device_telemetry_1m
        WHERE device_id = 'agg-1' ORDER BY bucket`,
    );
    expect(perMinute.rows).toEqual([
      { bucket: new Date(hour), device_id: 'agg-1', n: 3, avg: 21, min_battery: 78 },
      { bucket: new Date(hour + 60_000), device_id: 'agg-1', n: 3, avg: 24, min_battery: 75 },
      { bucket: new Date(hour + 120_000), device_id: 'agg-1', n: 3, avg: 27, min_battery: 72 },
    ]);
    const perHour = await db.query(
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
    await db.query(old.text, old.values);
    const job = async (proc: string) =>
      (await db.query<{ job_id: number }>(`SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = $1`, [proc])).rows[0].job_id;
    await db.query(`CALL run_job(${await job('policy_compression')})`);
    await db.query(`CALL run_job(${await job('policy_retention')})`);

    const chunks = await db.query<{ compressed: boolean }>(
      `SELECT bool_and(is_compressed) AS compressed FROM timescaledb_information.chunks
        WHERE hypertable_name = 'device_telemetry' AND range_end < now() - interval '7 days'`,
    );
    expect(chunks.rows).toEqual([{ compressed: true }]);
    const rows = await db.query<{ device_id: string }>(`SELECT device_id FROM device_telemetry WHERE device_id IN ('cmp-1', 'expired-1')`);
    expect(rows.rows).toEqual([{ device_id: 'cmp-1' }]);

    const again = await db.query(old.text, old.values); // a replay of both readings
    expect(again.affectedRows).toBe(1); // the expired one comes back once; the compressed one is skipped
    const cmp = await db.query(`SELECT time FROM device_telemetry WHERE device_id = 'cmp-1'`);
    await expect(db.query(`INSERT INTO device_telemetry (time, device_id) VALUES ($1, 'cmp-1')`, [cmp.rows[0] && (cmp.rows[0] as { time: Date }).time])).rejects.toThrow(
      /duplicate key/,
    );
  });

  it('runs the seed SQL unchanged and returns the expected rows', async () => {
    await runSeedQueries(db);
  });
});

describe('migrate on PostgreSQL without TimescaleDB (PGlite)', () => {
  let db: PGliteDb;
  let first: MigrateReport;
  let second: MigrateReport;
  let firstLog: ReturnType<typeof recorder>;
  let before: unknown;

  beforeAll(async () => {
    db = await startPGlite();
    process.stdout.write(`PGlite started in ${db.startupMs} ms\n`);
    firstLog = recorder();
    first = await migrate(db, { logger: firstLog, retention: '30 days' });
    before = await fingerprint(db);
    second = await migrate(db, { logger: recorder() });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('applies the plain migrations once, warns once naming what is missing, and a second run changes nothing', async () => {
    expect(first.engine).toBe('postgresql');
    expect(first.timescaledbVersion).toBeNull();
    expect(first.applied).toEqual(['0001_tables', '0002_time_bucket', '0004_rollups', '0005_roles', '0006_time_bucket_inline', '0007_rollup_state']);
    expect(first.policies).toEqual([]);
    expect(first.missing).toEqual(['hypertable', 'compression', 'retention policy', 'continuous aggregates']);
    expect(firstLog.warnings).toHaveLength(1);
    for (const word of ['hypertable', 'compression', 'retention', 'continuous aggregates', '30 days']) expect(firstLog.warnings[0]).toContain(word);
    expect(second.applied).toEqual([]);
    expect(await fingerprint(db)).toEqual(before);
    expect(formatReport(first)).toContain('without TimescaleDB');
  });

  it('creates the same tables, the identity index, and rollup views with the columns of the continuous aggregates', async () => {
    const rel = await db.query<{ relname: string; relkind: string }>(
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
    // the columns of the continuous aggregates, then the per-metric counts and sums of the state tables
    const extra = ['temperature', 'humidity', 'battery'].flatMap((m) => [[`${m}_count`, 'bigint'], [`${m}_sum`, 'double precision']]);
    for (const view of ['device_telemetry_1m', 'device_telemetry_1h']) expect(await columnsOf(db, view)).toEqual([...ROLLUP_COLUMNS, ...extra]);
    expect((await columnsOf(db, 'device_alerts')).map((c) => c[0])).toEqual([
      'alert_id', 'device_id', 'kind', 'metric', 'value', 'mean', 'stddev', 'z', 'threshold', 'reading_time', 'detected_at', 'details',
    ]);
  });

  it('keeps one row per (device_id, time)', async () => {
    await expectDuplicateRejected(db, 'dup-device', '2026-01-02T03:04:05.123456Z');
  });

  it('time_bucket buckets like TimescaleDB (origin 2000-01-03, months from 2000-01-01)', async () => {
    const r = await db.query(
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

  it('runs the seed SQL unchanged and returns the expected rows', async () => {
    await runSeedQueries(db);
    const m = await db.query<{ n: number }>(`SELECT sum(reading_count)::int AS n FROM device_telemetry_1m`);
    expect(m.rows[0].n).toBe((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM device_telemetry`)).rows[0].n);
  });

  it('creates the group roles NOLOGIN with exactly their privileges, and says on each run when one lacks them', async () => {
    const roles = await db.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('iot_writer', 'iot_reader') ORDER BY 1`);
    expect(roles.rows).toEqual([{ rolname: 'iot_reader', rolcanlogin: false }, { rolname: 'iot_writer', rolcanlogin: false }]);
    const privileges = await db.query<{ role: string; rel: string; held: string }>(
      `SELECT r AS role, rel, string_agg(p, ',' ORDER BY p) FILTER (WHERE has_table_privilege(r, rel, p)) AS held
         FROM unnest(ARRAY['iot_writer', 'iot_reader']) r,
              unnest(ARRAY['device_telemetry', 'device_alerts', 'device_telemetry_1m', 'device_telemetry_1h']) rel,
              unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
        GROUP BY r, rel ORDER BY r, rel`,
    );
    expect(privileges.rows).toEqual([
      { role: 'iot_reader', rel: 'device_alerts', held: 'SELECT' },
      { role: 'iot_reader', rel: 'device_telemetry', held: 'SELECT' },
      { role: 'iot_reader', rel: 'device_telemetry_1h', held: 'SELECT' },
      { role: 'iot_reader', rel: 'device_telemetry_1m', held: 'SELECT' },
      { role: 'iot_writer', rel: 'device_alerts', held: 'INSERT,SELECT' },
      { role: 'iot_writer', rel: 'device_telemetry', held: 'INSERT,SELECT' },
      { role: 'iot_writer', rel: 'device_telemetry_1h', held: null },
      { role: 'iot_writer', rel: 'device_telemetry_1m', held: null },
    ]);

    await db.query('REVOKE ALL ON device_telemetry FROM iot_reader');
    const after = await migrate(db, { logger: recorder() });
    expect(after.warnings.filter((w) => w.includes('group role'))).toEqual([
      expect.stringMatching(/^group role iot_reader exists but has no privileges .*run db\/migrations\/0005_roles\.sql again/),
    ]);
    // The fix the warning gives: the migration file again, as the owner of the tables.
    await db.exec(readFileSync(path.join(defaultMigrationsDir(), '0005_roles.sql'), 'utf8'));
    expect((await migrate(db, { logger: recorder() })).warnings.filter((w) => w.includes('group role'))).toEqual([]);
  });

  it('refuses a migration edited after it was applied, and reports migrations it does not know', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      writeFileSync(path.join(dir, '0099_extra.sql'), 'CREATE TABLE extra_table (id int);\n');
      const extra = await migrate(db, { migrationsDir: dir, logger: recorder() });
      expect(extra.applied).toEqual(['0099_extra']);
      const older = await migrate(db, { logger: recorder() });
      expect(older.warnings.join('\n')).toContain('0099_extra');

      appendFileSync(path.join(dir, '0001_tables.sql'), '-- edited\n');
      const error = await migrate(db, { migrationsDir: dir, logger: recorder() }).catch((e: unknown) => e);
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
      const error = await migrate(db, { migrationsDir: dir, logger: recorder() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(/0100_broken\.sql failed: .*no_such_function/);
      const left = await db.query(`SELECT to_regclass('half_done') AS t, (SELECT count(*)::int FROM schema_migrations WHERE version = 100) AS n`);
      expect(left.rows).toEqual([{ t: null, n: 0 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('refreshStartOffset', () => {
  it('keeps the preferred window inside the retention period', () => {
    expect(refreshStartOffset('7 days', 3600, '90 days')).toBe('7 days');
    expect(refreshStartOffset('7 days', 3600, '2 days')).toBe('86400 seconds');
    expect(refreshStartOffset('1 day', 60, '1 hour')).toBe('1800 seconds');
    expect(refreshStartOffset('1 day', 60, '2 minutes')).toBe('180 seconds');
  });
});
