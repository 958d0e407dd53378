import { Pool } from 'pg';
import type { Logger } from './log';

export interface PostgresConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/**
 * A pool named after the service, so pg_stat_activity shows who holds each connection.
 * An idle connection that the server drops (a restart, a failover) must not crash the
 * process: the pool discards it and the next query connects anew, and the query path
 * reports its own errors. Without a listener node would throw the 'error' event.
 */
export function createPool(config: PostgresConnection, applicationName: string, max = 4, logger?: Logger): Pool {
  const pool = new Pool({ ...config, application_name: applicationName, max, connectionTimeoutMillis: 10000 });
  pool.on('error', (err) => logger?.warn({ err: err.message }, 'an idle PostgreSQL connection failed; it is replaced on next use'));
  return pool;
}
