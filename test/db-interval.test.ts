import { intervalSeconds } from '../db/interval';
import { createTestDatabase, TestDatabase } from '../testkit/pg';

/**
 * The interval subset configuration accepts (db/interval.ts), read as PostgreSQL reads it: every
 * accepted text is valid PostgreSQL input with the same number of seconds. The table is here,
 * beside the server that checks it; no engine involved (no schema is migrated).
 */

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
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase('interval');
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('on every accepted form', async () => {
      for (const [text] of accepted) {
        const r = await db.pool.query<{ s: number }>('SELECT extract(epoch FROM $1::interval)::float8 AS s', [text]);
        expect({ text, seconds: r.rows[0].s }).toEqual({ text, seconds: intervalSeconds(text) });
      }
    });
  });
});
