import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { ConfigError, ConnectionError } from '../lib/errors';
import { createLogger, Logger } from '../lib/log';
import { createPool } from '../lib/postgres';
import { dbConfigSchema, loadDbConfig, PostgresConfig } from './config';
import { formatReport, migrate } from './migrate';

export { migrate, formatReport, MigrationError } from './migrate';
export type { MigrateOptions, MigrateReport, SqlRunner, Engine } from './migrate';
export { loadDbConfig, dbConfigSchema } from './config';
export type { DbConfig, PostgresConfig } from './config';

const USAGE = `usage: iot-pipeline migrate [--compress-after <interval>] [--retention <interval>] [--wait <seconds>]

Creates or upgrades the schema in POSTGRES_DB; safe to run again and from several places at once.
  --compress-after  TELEMETRY_COMPRESS_AFTER, default ${dbConfigSchema.telemetry.compressAfter.default}
  --retention       TELEMETRY_RETENTION, default ${dbConfigSchema.telemetry.retention.default}
  --wait            MIGRATE_WAIT_SECONDS: how long to wait for the database, default ${dbConfigSchema.migrate.waitSeconds.default}`;

/**
 * `iot-pipeline migrate`: argv is what follows the command name. A bad setting throws
 * ConfigError (the CLI prints it and exits 78); any other failure prints one clear line to
 * stderr and sets a non-zero exit code.
 */
export async function run(argv: string[]): Promise<void> {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: {
        'compress-after': { type: 'string' },
        retention: { type: 'string' },
        wait: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError([{ key: 'migrate arguments', message: `${(err as Error).message}\n${USAGE}` }]);
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadDbConfig({
    'telemetry.compressAfter': flags['compress-after'],
    'telemetry.retention': flags.retention,
    'migrate.waitSeconds': flags.wait === undefined ? undefined : Number(flags.wait),
  });

  const log = createLogger('migrate');
  const pool = connect(config.postgres);
  try {
    await waitForDatabase(pool, config.postgres, config.migrate.waitSeconds, log);
    const report = await migrate(pool, {
      compressAfter: config.telemetry.compressAfter,
      retention: config.telemetry.retention,
      engine: config.migrate.engine,
      logger: log,
    });
    process.stdout.write(`${formatReport(report)}\n`);
  } catch (err) {
    process.stderr.write(`migrate failed on ${where(config.postgres)}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** A small pool for a service that reads or writes the pipeline's tables. */
export function connect(config: PostgresConfig, applicationName = 'iot-pipeline', max = 4): Pool {
  const pool = createPool(config, applicationName, max);
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

function where(pg: PostgresConfig): string {
  return `${pg.user}@${pg.host}:${pg.port}/${pg.database}`;
}

/** SQLSTATEs and socket errors that mean "not up yet": worth waiting for. */
function startingUp(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return /timeout|terminat/i.test(String((err as Error).message));
  return ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', '57P03', '57P01', '08006', '08001'].includes(code);
}

/** Waits up to `seconds` for the database to answer; wrong credentials or a missing database fail at once. */
export async function waitForDatabase(pool: Pool, pg: PostgresConfig, seconds: number, log: Logger): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === '3D000') {
        throw new ConnectionError(`database "${pg.database}" does not exist; create it or set POSTGRES_DB`, err);
      }
      if (!startingUp(err) || Date.now() >= deadline) {
        throw new ConnectionError(`cannot connect: ${(err as Error).message}`, err);
      }
      if (attempt === 1) log.info({ host: pg.host, port: pg.port, waitSeconds: seconds }, 'waiting for the database');
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * attempt)));
    }
  }
}
