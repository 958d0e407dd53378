import convict from 'convict';
import { ConfigOf, loadConfig, postgresSchema } from '../lib/config';
import type { PostgresConnection } from '../lib/postgres';
import { assertPositiveInterval } from './interval';

convict.addFormat({
  name: 'pg-interval',
  validate: assertPositiveInterval,
  coerce: (v: string) => v.trim(),
});

/** Connection settings of lib/config.ts `postgresSchema`, as loaded. */
export type PostgresConfig = PostgresConnection;

export const DEFAULT_COMPRESS_AFTER = '7 days';
export const DEFAULT_RETENTION = '90 days';

/** Storage policies of device_telemetry; (re)applied by every migrate run. */
export const telemetryStorageSchema = {
  compressAfter: {
    doc: 'Compress device_telemetry chunks once their data is older than this (TimescaleDB only)',
    format: 'pg-interval',
    default: DEFAULT_COMPRESS_AFTER,
    env: 'TELEMETRY_COMPRESS_AFTER',
  },
  retention: {
    doc: 'Drop device_telemetry chunks once their data is older than this (TimescaleDB only)',
    format: 'pg-interval',
    default: DEFAULT_RETENTION,
    env: 'TELEMETRY_RETENTION',
  },
};

export const ENGINE_SETTINGS = ['auto', 'timescaledb', 'postgresql'] as const;
export type EngineSetting = (typeof ENGINE_SETTINGS)[number];

export const migrateRunSchema = {
  engine: {
    doc:
      'Storage engine of a new schema: auto (TimescaleDB when the server offers the extension), timescaledb (required), ' +
      'or postgresql (plain tables even where TimescaleDB is installed)',
    format: [...ENGINE_SETTINGS],
    default: 'auto' as EngineSetting,
    env: 'MIGRATE_ENGINE',
  },
  waitSeconds: {
    doc: 'How long `migrate` waits for the database to accept connections before giving up',
    format: 'nat',
    default: 60,
    env: 'MIGRATE_WAIT_SECONDS',
  },
};

export const dbConfigSchema = {
  postgres: postgresSchema,
  telemetry: telemetryStorageSchema,
  migrate: migrateRunSchema,
};

export type DbConfig = ConfigOf<typeof dbConfigSchema>;

/** Loads the migrate command's configuration; throws ConfigError naming every bad key. */
export function loadDbConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): DbConfig {
  return loadConfig(dbConfigSchema, overrides, env);
}
