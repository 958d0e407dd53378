import { Reading } from '../schemas';
import { writeBatch } from '../writer/store';
import { telemetryTable } from '../writer/tables';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { waitUntil } from '../testkit/wait';

/**
 * The schema on the real engine: TimescaleDB's own background scheduler runs every policy job
 * of the schema (compression, retention, both continuous-aggregate refreshes) to Success (on
 * PostgreSQL 15.20 it needs deploy/native/patches/timescaledb-2.28.3-job-portal-drop.patch),
 * and compressed chunks take late and redelivered readings through the writer's own path,
 * keeping one row per identity. Needs a server with TimescaleDB (the native stack builds it).
 */

const DAY_US = 86_400e6;
const nowUs = () => Date.now() * 1000;

function reading(deviceId: string, timeUs: number, temperature: number): Reading {
  return {
    device_id: deviceId,
    time: Math.round(timeUs),
    firmware: '1.0.0',
    temperature,
    humidity: 50,
    battery: 80,
    seq: 0,
    ingested_at: Date.now(),
  };
}

interface JobStats {
  job_id: number;
  proc_name: string;
  last_run_status: string | null;
  total_successes: number;
  total_failures: number;
}

describe('TimescaleDB', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase('tsdb', { engine: 'timescaledb' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('answers the troubleshooting query with device_telemetry as a hypertable with compression', async () => {
    const { rows } = await db.pool.query(`SELECT * FROM timescaledb_information.hypertables`);
    expect(rows.map((r) => [r.hypertable_name, r.compression_enabled])).toEqual([['device_telemetry', true]]);
    const ext = await db.pool.query(`SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`);
    expect(ext.rows[0].extversion).toMatch(/^2\.\d+\.\d+$/);
  });

  it('has only the indexes the queries need: the identity index and time DESC, no default extras', async () => {
    const { rows } = await db.pool.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'device_telemetry' ORDER BY indexname`,
    );
    expect(rows.map((r) => r.indexname)).toEqual(['device_telemetry_device_id_time_idx', 'device_telemetry_time_idx']);
  });

  it("runs every policy job through TimescaleDB's scheduler with status Success", async () => {
    const now = nowUs();
    // a chunk past retention (90 days), one past compression (7 days), recent data for the rollups
    await writeBatch(db.pool, telemetryTable, [
      reading('dev-old', now - 100 * DAY_US, 20),
      reading('dev-a', now - 10 * DAY_US, 21),
      reading('dev-a', now - 10 * DAY_US + 1e6, 22),
      reading('dev-a', now - 2 * 3600e6, 23),
      reading('dev-b', now - 90e6 - 3600e6, 24),
    ]);
    const jobs = await db.pool.query<{ job_id: number; proc_name: string }>(
      `SELECT job_id, proc_name FROM timescaledb_information.jobs
        WHERE hypertable_name IN ('device_telemetry', 'device_telemetry_1m', 'device_telemetry_1h')
           OR (hypertable_name IS NOT NULL AND proc_name = 'policy_refresh_continuous_aggregate')
        ORDER BY job_id`,
    );
    expect(jobs.rows.map((j) => j.proc_name).sort()).toEqual([
      'policy_compression',
      'policy_refresh_continuous_aggregate',
      'policy_refresh_continuous_aggregate',
      'policy_retention',
    ]);
    // due now: the scheduler picks them up at once instead of at their next interval
    for (const j of jobs.rows) await db.pool.query(`SELECT alter_job($1, next_start => now())`, [j.job_id]);

    const ids = jobs.rows.map((j) => j.job_id);
    const stats = await waitUntil(
      'every policy job run once by the scheduler',
      async () => {
        const { rows } = await db.pool.query<JobStats>(
          `SELECT s.job_id, j.proc_name, s.last_run_status, s.total_successes::int, s.total_failures::int
             FROM timescaledb_information.job_stats s JOIN timescaledb_information.jobs j USING (job_id)
            WHERE s.job_id = ANY($1) ORDER BY s.job_id`,
          [ids],
        );
        const done = rows.filter((r) => r.total_successes + r.total_failures > 0);
        return done.length === ids.length && rows;
      },
      120_000,
      250,
    );
    expect(stats.map((s) => [s.proc_name, s.last_run_status, s.total_failures])).toEqual(stats.map((s) => [s.proc_name, 'Success', 0]));

    // and they did their work: the 100-day-old chunk is gone, the 10-day-old one compressed,
    // the rollups materialized
    const old = await db.pool.query(`SELECT count(*)::int AS n FROM device_telemetry WHERE device_id = 'dev-old'`);
    expect(old.rows[0].n).toBe(0);
    const chunks = await db.pool.query(
      `SELECT is_compressed, range_end < now() - interval '7 days' AS old
         FROM timescaledb_information.chunks WHERE hypertable_name = 'device_telemetry' ORDER BY range_start`,
    );
    expect(chunks.rows.filter((c) => c.old).every((c) => c.is_compressed)).toBe(true);
    expect(chunks.rows.some((c) => c.is_compressed)).toBe(true);
    const materialized = await db.pool.query(
      `SELECT count(*)::int AS n FROM _timescaledb_catalog.continuous_aggs_watermark w
         JOIN _timescaledb_catalog.continuous_agg c ON c.mat_hypertable_id = w.mat_hypertable_id
        WHERE w.watermark > -9223372036854775807`,
    );
    expect(materialized.rows[0].n).toBe(2);
  });

  it('takes a late reading and a redelivered one into a compressed chunk: one row each', async () => {
    const base = Math.floor((nowUs() - 20 * DAY_US) / 1e6) * 1e6;
    const first = await writeBatch(db.pool, telemetryTable, [reading('dev-c', base, 30), reading('dev-c', base + 10e6, 31)]);
    expect(first.inserted).toBe(2);
    const compressed = await db.pool.query(
      `SELECT count(compress_chunk(c)) AS n FROM show_chunks('device_telemetry', older_than => now() - interval '15 days') c`,
    );
    expect(Number(compressed.rows[0].n)).toBeGreaterThan(0);
    const isCompressed = await db.pool.query(
      `SELECT bool_and(is_compressed) AS all FROM timescaledb_information.chunks
        WHERE hypertable_name = 'device_telemetry' AND range_end <= now() - interval '15 days'`,
    );
    expect(isCompressed.rows[0].all).toBe(true);

    // the same identity again (another value: the stored one wins), and a new, late reading
    const second = await writeBatch(db.pool, telemetryTable, [reading('dev-c', base, 99), reading('dev-c', base + 5e6, 32)]);
    expect(second).toMatchObject({ inserted: 1, skipped: 1 });

    const { rows } = await db.pool.query(
      `SELECT (extract(epoch FROM time) * 1e6)::bigint AS us, temperature FROM device_telemetry WHERE device_id = 'dev-c' ORDER BY time`,
    );
    expect(rows.map((r) => [Number(r.us), r.temperature])).toEqual([
      [base, 30],
      [base + 5e6, 32],
      [base + 10e6, 31],
    ]);
  });
});
