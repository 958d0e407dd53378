import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { loadConfig, postgresSchema } from '../lib/config';
import { createPool } from '../lib/postgres';
import { loadDbConfig, PostgresConfig } from '../db/config';
import { migrate, MigrateOptions, MigrateReport } from '../db/migrate';

export interface TestDatabase {
  name: string;
  config: PostgresConfig;
  pool: Pool;
  /** POSTGRES_* variables naming this database, for a service started as a child process. */
  env: Record<string, string>;
  /** Closes the pool and drops the database (idempotent). */
  drop(): Promise<void>;
}

/** The server the tests were pointed at (POSTGRES_HOST, _PORT, _DB, _USER, _PASSWORD). */
export function serverConfig(env: NodeJS.ProcessEnv = process.env): PostgresConfig {
  return loadConfig({ postgres: postgresSchema }, {}, env).postgres;
}

/** An admin session on the configured database, or on `postgres` if that one does not exist yet. */
async function adminClient(server: PostgresConfig): Promise<Client> {
  for (const database of [server.database, 'postgres']) {
    const client = new Client({ ...server, database, application_name: 'iot-pipeline-tests' });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if ((err as { code?: string }).code !== '3D000' || database === 'postgres') throw err;
    }
  }
  throw new Error('unreachable');
}

/**
 * A fresh, uniquely named database on the configured server (the role needs CREATEDB), so
 * every test file works in isolation whatever ran before it.
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const server = serverConfig();
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  const name = `${clean}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = await adminClient(server);
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const config: PostgresConfig = { ...server, database: name };
  const pool = createPool(config, `test-${clean}`, 8);
  pool.on('error', () => undefined);
  let dropped = false;
  return {
    name,
    config,
    pool,
    env: {
      POSTGRES_HOST: config.host,
      POSTGRES_PORT: String(config.port),
      POSTGRES_DB: name,
      POSTGRES_USER: config.user,
      POSTGRES_PASSWORD: config.password,
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      const c = await adminClient(server);
      try {
        // Plain DROP first: PostgreSQL stops an autovacuum worker visiting the database, and
        // TimescaleDB its scheduler, which FORCE may not (they are no role of ours: "must be a
        // member of the role whose process is being terminated"). A background job of another
        // role still running is waited out; FORCE only once every backend left is our own (a
        // SIGKILLed service's connections).
        for (let attempt = 1; ; attempt++) {
          const failure = await c.query(`DROP DATABASE IF EXISTS "${name}"`).then(
            () => undefined,
            (err: { code?: string }) => err,
          );
          if (failure === undefined) break;
          if (failure.code !== OBJECT_IN_USE || attempt >= 10) throw failure;
          const others = await c.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename IS DISTINCT FROM $2`,
            [name, server.user],
          );
          if (others.rows[0].n === 0) {
            await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
            break;
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}

/** SQLSTATE 55006: the database is being accessed by other users. */
const OBJECT_IN_USE = '55006';

const quiet = { info: () => undefined, warn: () => undefined };

/** A fresh database with the schema migrated (quietly); `report` says which engine it has. */
export async function createMigratedDatabase(
  prefix = 'test',
  options: MigrateOptions = {},
): Promise<TestDatabase & { report: MigrateReport }> {
  const db = await createTestDatabase(prefix);
  try {
    const report = await migrate(db.pool, { logger: quiet, engine: loadDbConfig().migrate.engine, ...options });
    return { ...db, report };
  } catch (err) {
    await db.drop();
    throw err;
  }
}
