import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PipelineError } from '../lib/errors';
import { createLogger } from '../lib/log';
import { DEFAULT_COMPRESS_AFTER, DEFAULT_RETENTION, EngineSetting } from './config';
import { intervalSeconds } from './interval';

/**
 * What migrate needs of a database: a pg.Client or a pg.Pool. A script (several statements)
 * goes through `query` without parameters (pg's simple protocol runs several statements).
 */
export interface SqlRunner {
  query(sql: string, params?: any[]): Promise<{ rows: any[] }>;
}

export type Engine = 'timescaledb' | 'postgresql';

export interface MigrateLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface MigrateOptions {
  /** Compress chunks older than this (PostgreSQL interval); default '7 days'. */
  compressAfter?: string;
  /** Drop chunks older than this (PostgreSQL interval); default '90 days'. */
  retention?: string;
  logger?: MigrateLogger;
  /** Folder of NNNN_name[.engine].sql files; default db/migrations. */
  migrationsDir?: string;
  /** Engine of a new schema (MIGRATE_ENGINE); default auto: TimescaleDB where the server offers it. */
  engine?: EngineSetting;
}

export type PolicyAction = 'created' | 'updated' | 'unchanged';

export interface PolicyReport {
  /** e.g. 'compression', 'retention', 'refresh device_telemetry_1m' */
  name: string;
  /** what it is set to, e.g. 'after 7 days' */
  setting: string;
  action: PolicyAction;
}

export interface MigrateReport {
  engine: Engine;
  serverVersion: string;
  timescaledbVersion: string | null;
  /** Migrations this run applied, e.g. '0001_tables'. */
  applied: string[];
  /** Migrations that were already applied before this run. */
  alreadyApplied: string[];
  policies: PolicyReport[];
  /** Features of the design this database does not have (empty on TimescaleDB). */
  missing: string[];
  warnings: string[];
}

/** A migration could not be applied, or the database is not in a state migrate can work with. */
export class MigrationError extends PipelineError {}

export interface Migration {
  version: number;
  name: string;
  /** null: for every engine */
  engine: Engine | null;
  file: string;
  sql: string;
  checksum: string;
}

/** Every migrate run takes this transaction-level advisory lock, so concurrent runs queue. */
const LOCK_KEY = '7253431870000001';
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)(?:\.(timescaledb|postgresql))?\.sql$/;

export const ROLLUPS = [
  { view: 'device_telemetry_1m', bucketSeconds: 60, startOffset: '7 days', endOffset: '1 minute', schedule: '1 minute' },
  { view: 'device_telemetry_1h', bucketSeconds: 3600, startOffset: '7 days', endOffset: '1 hour', schedule: '30 minutes' },
] as const;

export const MISSING_WITHOUT_TIMESCALEDB = ['hypertable', 'compression', 'retention policy', 'continuous aggregates'];

/** db/migrations beside this file, or in the source tree when running from dist/. */
export function defaultMigrationsDir(): string {
  const candidates = [path.join(__dirname, 'migrations'), path.resolve(__dirname, '..', '..', 'db', 'migrations')];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new MigrationError(`migrations folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function loadMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_PATTERN.exec(file);
    if (!m) throw new MigrationError(`migration file name ${file} is not NNNN_name[.timescaledb|.postgresql].sql`);
    const sql = readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    migrations.push({
      version: Number(m[1]),
      name: `${m[1]}_${m[2]}`,
      engine: (m[3] as Engine | undefined) ?? null,
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  for (const engine of ['timescaledb', 'postgresql'] as const) {
    const seen = new Map<number, string>();
    for (const mig of migrations.filter((x) => x.engine === null || x.engine === engine)) {
      const other = seen.get(mig.version);
      if (other) throw new MigrationError(`migrations ${other} and ${mig.file} share version ${mig.version}`);
      seen.set(mig.version, mig.file);
    }
  }
  return migrations;
}

/**
 * Brings the database to the current schema: applies each pending migration in its own
 * transaction under an advisory lock (so concurrent runs are safe and a second run changes
 * nothing), then, on TimescaleDB, (re)applies the compression, retention and refresh
 * policies from the options.
 */
export async function migrate(db: SqlRunner, options: MigrateOptions = {}): Promise<MigrateReport> {
  const log = options.logger ?? createLogger('migrate');
  const compressAfter = options.compressAfter ?? DEFAULT_COMPRESS_AFTER;
  const retention = options.retention ?? DEFAULT_RETENTION;
  const migrations = loadMigrations(options.migrationsDir);

  const { runner, release } = await dedicated(db);
  let failed = false;
  try {
    const report: MigrateReport = {
      engine: 'postgresql',
      serverVersion: '',
      timescaledbVersion: null,
      applied: [],
      alreadyApplied: [],
      policies: [],
      missing: [],
      warnings: [],
    };
    report.serverVersion = String(
      (await runner.query(`SELECT split_part(version(), ' ', 1) || ' ' || current_setting('server_version') AS v`)).rows[0].v,
    );

    const setting = options.engine ?? 'auto';
    const offered = (await runner.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`)).rows.length > 0;
    if (setting === 'timescaledb' && !offered) {
      throw new MigrationError(
        "MIGRATE_ENGINE=timescaledb, but this server does not offer the timescaledb extension (install it and set shared_preload_libraries = 'timescaledb')",
      );
    }
    const available = offered && setting !== 'postgresql';
    const previous = await bootstrap(runner, available);
    report.engine = chooseEngine(previous, available, report);
    if (setting !== 'auto' && report.engine !== setting) {
      throw new MigrationError(
        `MIGRATE_ENGINE=${setting}, but this schema was created on ${report.engine}; the engine of a schema is fixed by its first migrate run`,
      );
    }

    if (report.engine === 'timescaledb') {
      const ext = await runner.query(
        `SELECT extversion, current_setting('timescaledb.license', true) AS license FROM pg_extension WHERE extname = 'timescaledb'`,
      );
      if (ext.rows.length === 0) {
        throw new MigrationError(
          'the schema was created with TimescaleDB, but the timescaledb extension is not installed in this database',
        );
      }
      report.timescaledbVersion = String(ext.rows[0].extversion);
      if (ext.rows[0].license === 'apache') {
        throw new MigrationError(
          'TimescaleDB runs with timescaledb.license = apache, which has no compression, retention policies or continuous aggregates; ' +
            "use the community edition (timescaledb.license = 'timescale') or a PostgreSQL without the extension",
        );
      }
    }

    for (const mig of migrations.filter((m) => m.engine === null || m.engine === report.engine)) {
      const outcome = await applyMigration(runner, mig, report.engine);
      if (outcome === 'applied') {
        report.applied.push(mig.name);
        log.info({ migration: mig.name, engine: report.engine }, 'migration applied');
      } else {
        report.alreadyApplied.push(mig.name);
      }
    }
    if ([...report.applied, ...report.alreadyApplied].includes(ROLES_MIGRATION)) report.warnings.push(...(await roleWarnings(runner)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = previous.filter((row) => !known.has(row.version)).map((row) => row.name);
    if (unknown.length > 0) {
      report.warnings.push(`the database has migrations this build does not know (a newer build applied them): ${unknown.join(', ')}`);
    }

    if (report.engine === 'timescaledb') {
      report.policies = await applyPolicies(runner, { compressAfter, retention });
      for (const p of report.policies.filter((x) => x.action !== 'unchanged')) {
        log.info({ policy: p.name, setting: p.setting, action: p.action }, 'policy applied');
      }
      const c = intervalSeconds(compressAfter);
      const r = intervalSeconds(retention);
      if (c !== undefined && r !== undefined && c >= r) {
        report.warnings.push(
          `compression after ${compressAfter} is not before retention ${retention}: chunks are dropped before they are compressed`,
        );
      }
    } else {
      report.missing = [...MISSING_WITHOUT_TIMESCALEDB];
      report.warnings.unshift(
        `${offered ? 'TimescaleDB is not used (MIGRATE_ENGINE=postgresql)' : 'TimescaleDB is not available on this server'}: missing ${report.missing.join(', ')}. ` +
          `device_telemetry is a plain table, TELEMETRY_COMPRESS_AFTER (${compressAfter}) and TELEMETRY_RETENTION (${retention}) are not enforced, ` +
          'device_telemetry_1m and device_telemetry_1h are tables kept by a trigger on device_telemetry instead of continuous aggregates, and time_bucket() is a shim over date_bin()',
      );
    }
    if (report.warnings.length > 0) log.warn({ engine: report.engine, missing: report.missing }, report.warnings.join('; '));
    return report;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    release(failed);
  }
}

const ROLES_MIGRATION = '0005_roles';

/**
 * The group roles of migration 0005 must exist and hold their grants. A migrating role
 * without CREATEROLE cannot create them, and a role created after 0005 ran has no grants:
 * both are said on every run, with the fix, instead of once in a server notice nobody reads.
 */
async function roleWarnings(db: SqlRunner): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT g.role, r.oid IS NOT NULL AS present,
            CASE WHEN r.oid IS NULL THEN false ELSE has_table_privilege(r.oid, 'device_telemetry', g.privilege) END AS granted
       FROM (VALUES ('iot_writer', 'INSERT'), ('iot_reader', 'SELECT')) AS g(role, privilege)
       LEFT JOIN pg_roles r ON r.rolname = g.role
      ORDER BY g.role DESC`,
  );
  const fix = `then run db/migrations/${ROLES_MIGRATION}.sql again with psql as the owner of the tables (it is idempotent)`;
  return rows
    .filter((r) => !r.granted)
    .map((r) =>
      r.present
        ? `group role ${r.role} exists but has no privileges on device_telemetry (created after migration ${ROLES_MIGRATION}): ${fix}`
        : `group role ${r.role} does not exist and this database role may not create roles: an administrator runs CREATE ROLE ${r.role} NOLOGIN, ${fix}`,
    );
}

/** A pool hands out one connection for the whole run: transactions need a single session. */
async function dedicated(db: SqlRunner): Promise<{ runner: SqlRunner; release: (discard: boolean) => void }> {
  const pool = db as unknown as { connect?: () => Promise<SqlRunner & { release(discard?: boolean): void }>; totalCount?: unknown };
  if (typeof pool.connect === 'function' && typeof pool.totalCount === 'number') {
    const client = await pool.connect();
    // After a failure the session may be mid-transaction or broken: do not hand it back.
    return { runner: client, release: (discard) => client.release(discard) };
  }
  return { runner: db, release: () => undefined };
}

/** Runs `body` in a transaction holding the migrate lock; rolls back on error. */
async function locked<T>(db: SqlRunner, body: () => Promise<T>): Promise<T> {
  await db.query('BEGIN');
  try {
    await db.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    const result = await body();
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

interface AppliedRow {
  version: number;
  name: string;
  engine: Engine | null;
  checksum: string;
}

/** Creates schema_migrations and, where the server offers it, the timescaledb extension; returns what was applied before. */
async function bootstrap(db: SqlRunner, timescaleAvailable: boolean): Promise<AppliedRow[]> {
  return locked(db, async () => {
    await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      engine     text,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = (await db.query('SELECT version, name, engine, checksum FROM schema_migrations ORDER BY version')).rows as AppliedRow[];
    const createdPlain = rows.some((r) => r.engine === 'postgresql');
    if (timescaleAvailable && !createdPlain) {
      try {
        await db.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      } catch (err) {
        throw new MigrationError(
          `the server offers the timescaledb extension but CREATE EXTENSION timescaledb failed: ${(err as Error).message}. ` +
            "A superuser can run it once in this database; it also needs shared_preload_libraries = 'timescaledb'",
          { cause: err },
        );
      }
    }
    return rows.map((r) => ({ ...r, version: Number(r.version) }));
  });
}

/** The engine is fixed by the first migrate run: a schema made without TimescaleDB stays that way. */
function chooseEngine(previous: AppliedRow[], available: boolean, report: MigrateReport): Engine {
  if (previous.some((r) => r.engine === 'timescaledb')) return 'timescaledb';
  if (previous.some((r) => r.engine === 'postgresql')) {
    if (available) {
      report.warnings.push(
        'the timescaledb extension is available now, but this schema was created without it; converting it is a manual operation',
      );
    }
    return 'postgresql';
  }
  return available ? 'timescaledb' : 'postgresql';
}

async function applyMigration(db: SqlRunner, mig: Migration, engine: Engine): Promise<'applied' | 'present'> {
  return locked(db, async () => {
    const existing = (await db.query('SELECT checksum FROM schema_migrations WHERE version = $1', [mig.version])).rows;
    if (existing.length > 0) {
      if (existing[0].checksum !== mig.checksum) {
        throw new MigrationError(
          `migration ${mig.file} was changed after it was applied (checksum ${String(existing[0].checksum).slice(0, 12)}… in the database, ` +
            `${mig.checksum.slice(0, 12)}… on disk); add a new migration instead of editing an applied one`,
        );
      }
      return 'present';
    }
    try {
      await db.query(mig.sql);
    } catch (err) {
      throw new MigrationError(`migration ${mig.file} failed: ${(err as Error).message}`, { cause: err });
    }
    await db.query('INSERT INTO schema_migrations (version, name, engine, checksum) VALUES ($1, $2, $3, $4)', [
      mig.version,
      mig.name,
      mig.engine === null ? null : engine,
      mig.checksum,
    ]);
    return 'applied';
  });
}

interface JobRow {
  job_id: number;
}

/** Makes the policies match the options; a policy already as wanted is left alone (same job id). */
async function applyPolicies(db: SqlRunner, opts: { compressAfter: string; retention: string }): Promise<PolicyReport[]> {
  return locked(db, async () => {
    const out: PolicyReport[] = [];

    const compression = await hypertableJob(db, 'policy_compression');
    out.push(
      await ensure(db, compression, `after ${opts.compressAfter}`, 'compression', [['compress_after', opts.compressAfter]], async () => {
        await db.query(`SELECT remove_compression_policy('device_telemetry', if_exists => true)`);
        await db.query(`SELECT add_compression_policy('device_telemetry', compress_after => $1::interval)`, [opts.compressAfter]);
      }),
    );

    const retention = await hypertableJob(db, 'policy_retention');
    out.push(
      await ensure(db, retention, `drop after ${opts.retention}`, 'retention', [['drop_after', opts.retention]], async () => {
        await db.query(`SELECT remove_retention_policy('device_telemetry', if_exists => true)`);
        await db.query(`SELECT add_retention_policy('device_telemetry', drop_after => $1::interval)`, [opts.retention]);
      }),
    );

    for (const r of ROLLUPS) {
      const start = refreshStartOffset(r.startOffset, r.bucketSeconds, opts.retention);
      const job = await rollupJob(db, r.view);
      const wanted: [string, string][] = [
        ['start_offset', start],
        ['end_offset', r.endOffset],
      ];
      out.push(
        await ensure(
          db,
          job,
          `every ${r.schedule}, window now-${start} .. now-${r.endOffset}`,
          `refresh ${r.view}`,
          wanted,
          async () => {
            await db.query(`SELECT remove_continuous_aggregate_policy($1::regclass, if_exists => true)`, [r.view]);
            await db.query(
              `SELECT add_continuous_aggregate_policy($1::regclass, start_offset => $2::interval, end_offset => $3::interval, schedule_interval => $4::interval)`,
              [r.view, start, r.endOffset, r.schedule],
            );
          },
          r.schedule,
        ),
      );
    }
    return out;
  });
}

/**
 * The refresh window must stay inside the retention period: refreshing a range whose raw
 * chunks were dropped would empty the rollup there. Rollups thereby outlive the raw data.
 */
export function refreshStartOffset(preferred: string, bucketSeconds: number, retention: string): string {
  const keep = intervalSeconds(retention);
  const want = intervalSeconds(preferred);
  if (keep === undefined || want === undefined || want < keep) return preferred;
  const seconds = Math.max(Math.floor(keep / 2), 3 * bucketSeconds);
  return `${seconds} seconds`;
}

async function hypertableJob(db: SqlRunner, proc: string): Promise<JobRow | undefined> {
  const rows = (
    await db.query(
      `SELECT job_id FROM timescaledb_information.jobs
        WHERE proc_name = $1 AND hypertable_schema = current_schema() AND hypertable_name = 'device_telemetry'`,
      [proc],
    )
  ).rows as JobRow[];
  return rows[0];
}

async function rollupJob(db: SqlRunner, view: string): Promise<JobRow | undefined> {
  const rows = (
    await db.query(
      `SELECT j.job_id
         FROM timescaledb_information.jobs j
         JOIN timescaledb_information.continuous_aggregates c
           -- recent TimescaleDB names the view here, older releases its materialization hypertable
           ON (c.view_schema, c.view_name) = (j.hypertable_schema, j.hypertable_name)
           OR (c.materialization_hypertable_schema, c.materialization_hypertable_name) = (j.hypertable_schema, j.hypertable_name)
        WHERE j.proc_name = 'policy_refresh_continuous_aggregate' AND c.view_schema = current_schema() AND c.view_name = $1`,
      [view],
    )
  ).rows as JobRow[];
  return rows[0];
}

async function ensure(
  db: SqlRunner,
  job: JobRow | undefined,
  setting: string,
  name: string,
  wanted: [string, string][],
  apply: () => Promise<void>,
  schedule?: string,
): Promise<PolicyReport> {
  if (job) {
    // Compared as intervals in the database: '7 days' and '168 hours' are the same setting.
    const params: unknown[] = [job.job_id];
    const checks = wanted.map(([key, value]) => {
      params.push(key, value);
      return `(config->>$${params.length - 1}::text)::interval = $${params.length}::interval`;
    });
    if (schedule !== undefined) {
      params.push(schedule);
      checks.push(`schedule_interval = $${params.length}::interval`);
    }
    const rows = (
      await db.query(`SELECT coalesce(${checks.join(' AND ')}, false) AS same FROM timescaledb_information.jobs WHERE job_id = $1`, params)
    ).rows;
    if (rows[0]?.same === true) return { name, setting, action: 'unchanged' };
  }
  await apply();
  return { name, setting, action: job ? 'updated' : 'created' };
}

/** A few lines for people: the engine and what this run did. */
export function formatReport(report: MigrateReport): string {
  const engine =
    report.engine === 'timescaledb'
      ? `TimescaleDB ${report.timescaledbVersion} on ${report.serverVersion}`
      : `${report.serverVersion} without TimescaleDB`;
  const lines = [`engine: ${engine}`];
  lines.push(
    report.applied.length > 0
      ? `migrations applied: ${report.applied.join(', ')}${report.alreadyApplied.length ? ` (${report.alreadyApplied.length} already present)` : ''}`
      : `migrations: up to date (${report.alreadyApplied.length} present)`,
  );
  for (const p of report.policies) lines.push(`policy ${p.name}: ${p.setting} (${p.action})`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
