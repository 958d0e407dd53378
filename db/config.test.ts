import { ConfigError } from '../lib/errors';
import { loadDbConfig } from './config';
import { run } from './index';

describe('db configuration', () => {
  it('has the documented defaults', () => {
    const cfg = loadDbConfig({}, {});
    expect(cfg.telemetry).toEqual({ compressAfter: '7 days', retention: '90 days' });
    expect(cfg.migrate.waitSeconds).toBe(60);
    expect(cfg.postgres).toMatchObject({ host: 'localhost', port: 5432, database: 'iot_analytics', user: 'iot' });
  });

  it('reads TELEMETRY_COMPRESS_AFTER and TELEMETRY_RETENTION; flags win over the environment', () => {
    const env = { TELEMETRY_COMPRESS_AFTER: ' 3 days ', TELEMETRY_RETENTION: '30 days', POSTGRES_DB: 'x' };
    expect(loadDbConfig({}, env).telemetry).toEqual({ compressAfter: '3 days', retention: '30 days' });
    expect(loadDbConfig({ 'telemetry.retention': '1 year' }, env).telemetry.retention).toBe('1 year');
  });

  it('names every bad interval by its environment variable, with the expected form', () => {
    let error: unknown;
    try {
      loadDbConfig({}, { TELEMETRY_COMPRESS_AFTER: '0 days', TELEMETRY_RETENTION: "7 days'; DROP TABLE device_telemetry; --" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).keys).toEqual(
      expect.arrayContaining(['TELEMETRY_COMPRESS_AFTER (telemetry.compressAfter)', 'TELEMETRY_RETENTION (telemetry.retention)']),
    );
    expect((error as Error).message).toContain("PostgreSQL interval such as '7 days'");
  });

  it('migrate refuses bad flags before touching the database', async () => {
    await expect(run(['--retention', 'forever'])).rejects.toThrow(/TELEMETRY_RETENTION \(telemetry\.retention\)/);
    await expect(run(['--no-such-flag'])).rejects.toBeInstanceOf(ConfigError);
  });
});

// intervalSeconds, checked against PostgreSQL's own reading of the same texts: test/db-interval.test.ts
