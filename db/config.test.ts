import { ConfigError } from '../lib/errors';
import { loadDbConfig } from './config';
import { run } from './index';
import { intervalSeconds } from './interval';
import { PGliteDb, startPGlite } from './pglite';

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

describe('intervalSeconds', () => {
  const accepted: [string, number][] = [
    ['7 days', 7 * 86400],
    ['90 days', 90 * 86400],
    ['1 day 12 hours', 1.5 * 86400],
    ['12h', 12 * 3600],
    ['30 min', 1800],
    ['2 weeks', 14 * 86400],
    ['1 month', 30 * 86400],
    ['1 year', 365.25 * 86400],
    ['1.5 hours', 5400],
    ['500 ms', 0.5],
    ['3 mons 2 days', 92 * 86400],
    ['1 YEAR, 2 Days', 367.25 * 86400],
  ];

  it.each(accepted)('reads %j as %d seconds', (text, seconds) => {
    expect(intervalSeconds(text)).toBeCloseTo(seconds, 6);
  });

  it.each(['', 'forever', '7', 'days', '5 m', '1 fortnight', "7 days'; --", '-1 day', 'P7D'])('refuses %j', (text) => {
    expect(intervalSeconds(text)).toBeUndefined();
  });

  describe('agrees with PostgreSQL', () => {
    let db: PGliteDb;
    beforeAll(async () => {
      db = await startPGlite();
    });
    afterAll(async () => {
      await db?.close();
    });

    it('on every accepted form', async () => {
      for (const [text] of accepted) {
        const r = await db.query<{ s: number }>('SELECT extract(epoch FROM $1::interval)::float8 AS s', [text]);
        expect({ text, seconds: r.rows[0].s }).toEqual({ text, seconds: intervalSeconds(text) });
      }
    });
  });
});
