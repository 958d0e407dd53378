import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createPool } from '../lib/postgres';
import { Alert, Reading } from '../schemas';
import { writeBatch } from '../writer/store';
import { alertTable, telemetryTable } from '../writer/tables';
import { adminSql } from '../testkit/pg-admin';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';

/**
 * The group roles of db/migrations/0005_roles.sql on the environment's PostgreSQL, through
 * login roles made the way an operator makes them (deploy docs: RELIABILITY.md, db/README.md).
 * The stack's `iot` role may not create roles, so, as an operator would, the test creates the
 * two group roles first (a no-op when they exist: they are cluster-wide and outlive the test);
 * the migration, run as `iot`, then grants to them.
 */

const GROUPS = ['iot_writer', 'iot_reader'];
const DENIED = { code: '42501' }; // insufficient_privilege

describe('database roles iot_writer and iot_reader', () => {
  let db: TestDatabase & { report: { warnings: string[] } };
  const logins: { name: string; pool: Pool }[] = [];
  let reader: Pool;
  let writer: Pool;

  /** A login role in `group`, with a random password, and a pool on the test database as it. */
  async function login(group: string): Promise<Pool> {
    const name = `test_${group}_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    await adminSql(`CREATE ROLE ${name} LOGIN PASSWORD '${password}' IN ROLE ${group}`);
    const pool = createPool({ ...db.config, user: name, password }, `test-${group}`, 2);
    pool.on('error', () => undefined);
    logins.push({ name, pool });
    return pool;
  }

  beforeAll(async () => {
    await adminSql(
      `DO $$ DECLARE r text; BEGIN FOREACH r IN ARRAY ARRAY['${GROUPS.join("','")}'] LOOP
         BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN', r); EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
       END LOOP; END $$`,
    );
    db = await createMigratedDatabase('roles');
    reader = await login('iot_reader');
    writer = await login('iot_writer');
  });

  afterAll(async () => {
    await Promise.all(logins.map((l) => l.pool.end().catch(() => undefined)));
    if (logins.length > 0) await adminSql(logins.map((l) => `DROP ROLE IF EXISTS ${l.name};`).join('\n'));
    await db?.drop();
  });

  it('migrates without a role warning once the group roles exist', () => {
    expect(db.report.warnings.filter((w) => w.includes('group role'))).toEqual([]);
  });

  describe('a login in iot_reader', () => {
    it('reads every table and rollup', async () => {
      await db.pool.query(`INSERT INTO device_telemetry (time, device_id, battery) VALUES (now() - interval '1 hour', 'r-1', 50)`);
      for (const rel of ['device_telemetry', 'device_alerts', 'device_telemetry_1m', 'device_telemetry_1h']) {
        await expect(reader.query(`SELECT count(*)::int AS n FROM ${rel}`)).resolves.toBeTruthy();
      }
      expect((await reader.query(`SELECT device_id FROM device_telemetry`)).rows).toEqual([{ device_id: 'r-1' }]);
    });

    it.each([
      ['INSERT', `INSERT INTO device_telemetry (time, device_id, battery) VALUES (now(), 'r-2', 1)`],
      ['UPDATE', `UPDATE device_telemetry SET battery = 0`],
      ['DELETE', `DELETE FROM device_telemetry`],
      ['TRUNCATE', `TRUNCATE device_telemetry`],
      [
        'INSERT into alerts',
        `INSERT INTO device_alerts (alert_id, device_id, kind, reading_time, detected_at) VALUES ('a', 'r', 'x', now(), now())`,
      ],
      ['CREATE TABLE', `CREATE TABLE public.reader_table (id int)`],
    ])('may not %s', async (_what, sql) => {
      await expect(reader.query(sql)).rejects.toMatchObject(DENIED);
    });
  });

  describe('a login in iot_writer', () => {
    const now = Date.now();
    const readings: Reading[] = Array.from({ length: 50 }, (_, i) => ({
      device_id: `w-${i % 5}`,
      time: (now - 60_000 + i) * 1000,
      firmware: '1.0.0',
      temperature: 20,
      humidity: 50,
      battery: 90,
      seq: i,
      ingested_at: now,
    }));
    const alert: Alert = {
      alert_id: `alert-${randomBytes(4).toString('hex')}`,
      device_id: 'w-1',
      kind: 'low_battery',
      metric: 'battery',
      value: 5,
      mean: null,
      stddev: null,
      z: null,
      threshold: 10,
      reading_time: now * 1000,
      detected_at: now,
      details: '{"why":"test"}',
    };

    it("runs the writer's own path: COPY into a TEMP staging table, then insert what is new", async () => {
      expect(await writeBatch(writer, telemetryTable, readings)).toEqual({ inserted: 50, skipped: 0, copiedDirectly: true });
      // A redelivery is skipped by identity (ON CONFLICT DO NOTHING needs no UPDATE right).
      expect(await writeBatch(writer, telemetryTable, readings)).toEqual({ inserted: 0, skipped: 50, copiedDirectly: false });
      expect(await writeBatch(writer, alertTable, [alert])).toEqual({ inserted: 1, skipped: 0, copiedDirectly: false });
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM device_telemetry WHERE device_id LIKE 'w-%'`);
      expect(rows[0].n).toBe(50);
    });

    it.each([
      ['DELETE', `DELETE FROM device_telemetry`],
      ['UPDATE', `UPDATE device_telemetry SET battery = 0`],
      ['TRUNCATE', `TRUNCATE device_alerts`],
      ['DROP TABLE', `DROP TABLE device_telemetry`],
      ['ALTER TABLE', `ALTER TABLE device_telemetry ADD COLUMN x int`],
      ['DELETE from alerts', `DELETE FROM device_alerts`],
      ['CREATE TABLE', `CREATE TABLE public.writer_table (id int)`],
      ['read the migration log', `SELECT * FROM schema_migrations`],
    ])('may not %s', async (_what, sql) => {
      await expect(writer.query(sql)).rejects.toMatchObject(DENIED);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM device_telemetry WHERE device_id LIKE 'w-%'`);
      expect(rows[0].n).toBe(50);
    });
  });
});
