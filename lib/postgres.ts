import { Pool } from 'pg';

export interface PostgresConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** A pool named after the service, so pg_stat_activity shows who holds each connection. */
export function createPool(config: PostgresConnection, applicationName: string, max = 4): Pool {
  return new Pool({ ...config, application_name: applicationName, max, connectionTimeoutMillis: 10000 });
}
