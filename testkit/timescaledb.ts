import { Pool } from 'pg';
import { ROLLUPS } from '../db/migrate';
import { waitUntil } from './wait';

/** The continuous aggregates of db/migrations/0004_rollups.timescaledb.sql. */
export const CONTINUOUS_AGGREGATES = ROLLUPS.map((r) => r.view);

/**
 * Takes the continuous aggregates' refresh policies off TimescaleDB's scheduler in a test
 * database, so that a test decides when they are refreshed (CALL refresh_continuous_aggregate)
 * and can see what a view holds before a refresh. The scheduler runs a new job at once: that
 * first run is awaited, so no run is in flight or about to start when the jobs are unscheduled
 * (the next is a whole schedule interval later). test/db-timescaledb.test.ts tests the policies
 * through the scheduler itself.
 */
export async function pauseRefreshPolicies(pool: Pool): Promise<void> {
  const jobs = `SELECT j.job_id, s.total_runs::int AS runs, s.job_status AS status, s.last_run_status AS last
                  FROM timescaledb_information.jobs j LEFT JOIN timescaledb_information.job_stats s USING (job_id)
                 WHERE j.proc_name = 'policy_refresh_continuous_aggregate'`;
  await waitUntil(
    'the first run of each refresh policy, by the scheduler, to finish',
    async () => {
      const { rows } = await pool.query(jobs);
      return (
        rows.length === CONTINUOUS_AGGREGATES.length && rows.every((r) => r.runs > 0 && r.status !== 'Running' && r.last !== null) && rows
      );
    },
    60_000,
    100,
  );
  await pool.query(`SELECT alter_job(job_id, scheduled => false) FROM (${jobs}) j`);
  const { rows } = await pool.query(jobs);
  if (!rows.every((r) => r.status === 'Paused')) throw new Error(`refresh policies not paused: ${JSON.stringify(rows)}`);
}

/** Refreshes every continuous aggregate over all time, as its policy would over its window. */
export async function refreshContinuousAggregates(pool: Pool): Promise<void> {
  // the names are ours (db/migrate ROLLUPS), and CALL takes them as literals
  for (const view of CONTINUOUS_AGGREGATES) await pool.query(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
}
