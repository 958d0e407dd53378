import { Reading } from '../schemas';
import { writeBatch } from '../writer/store';
import { telemetryTable } from '../writer/tables';
import { createMigratedDatabase } from '../testkit/pg';
import { Benchmark, BenchContext, BenchResult, numberFlag, ratio } from './report';

/**
 * What the rollup trigger of plain PostgreSQL (db/migrations/0007_rollup_state) costs the
 * writer: rows/s of writeBatch, the writer's own path, into a fresh migrated database with the
 * trigger and into one where it is disabled. Live-like data: every device reports every 10 s,
 * batches in arrival order, so each batch adds to a few recent buckets per device. Rounds
 * alternate between the two, and the best round of each counts (a shared machine is noisy).
 */

function readingsOf(rows: number, devices: number): Reading[] {
  const start = (Date.now() - Math.ceil(rows / devices) * 10_000) * 1000;
  return Array.from({ length: rows }, (_, i) => ({
    device_id: `bench-${String(i % devices).padStart(4, '0')}`,
    time: start + Math.floor(i / devices) * 10_000_000 + (i % devices) * 1000,
    firmware: '1.0.0',
    temperature: 20 + (i % 13) / 2,
    humidity: i % 17 === 0 ? null : 50 + (i % 9),
    battery: 100 - (i % 1000) / 20,
    seq: i,
    ingested_at: Date.now(),
  }));
}

async function rowsPerSecond(readings: Reading[], batchSize: number, trigger: boolean): Promise<number> {
  const db = await createMigratedDatabase('bench_trigger');
  try {
    if (db.report.engine !== 'postgresql') throw new Error('the rollup trigger exists on PostgreSQL without TimescaleDB only');
    if (!trigger) await db.pool.query('ALTER TABLE device_telemetry DISABLE TRIGGER device_telemetry_rollup');
    const started = performance.now();
    for (let i = 0; i < readings.length; i += batchSize) {
      await writeBatch(db.pool, telemetryTable, readings.slice(i, i + batchSize));
    }
    const seconds = (performance.now() - started) / 1000;
    const { rows } = await db.pool.query(`SELECT (SELECT count(*) FROM device_telemetry)::int AS raw,
                                                 (SELECT coalesce(sum(reading_count), 0) FROM device_telemetry_1m)::int AS rolled`);
    if (rows[0].raw !== readings.length || rows[0].rolled !== (trigger ? readings.length : 0)) {
      throw new Error(`unexpected row counts: ${JSON.stringify(rows[0])}`);
    }
    return readings.length / seconds;
  } finally {
    await db.drop();
  }
}

async function run({ flags, progress }: BenchContext): Promise<BenchResult> {
  const rows = numberFlag(flags, 'rows', 200_000);
  const devices = numberFlag(flags, 'devices', 200);
  const batchSize = numberFlag(flags, 'batch', 5000);
  const rounds = numberFlag(flags, 'rounds', 2);
  const readings = readingsOf(rows, devices);
  const samples: { trigger: boolean; rowsPerSecond: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const trigger of [false, true]) {
      progress.phase(`round ${round}/${rounds}: ${trigger ? 'with' : 'without'} the trigger`);
      samples.push({ trigger, rowsPerSecond: await rowsPerSecond(readings, batchSize, trigger) });
    }
  }
  const best = (trigger: boolean) => Math.max(...samples.filter((s) => s.trigger === trigger).map((s) => s.rowsPerSecond));
  const without = best(false);
  const withTrigger = best(true);
  return {
    figures: [
      { metric: 'writeBatch without the rollup trigger', value: Math.round(without), unit: 'rows/s' },
      {
        metric: 'writeBatch with the rollup trigger',
        value: Math.round(withTrigger),
        unit: 'rows/s',
        baseline: Math.round(without),
        ratio: ratio(withTrigger, without),
      },
    ],
    params: { rows, devices, batchSize, rounds },
    notes: ['plain PostgreSQL only; a fresh migrated database per round; best round of each'],
    detail: samples,
  };
}

export const dbTriggerBench: Benchmark = {
  name: 'db-trigger',
  about: "rows/s of the writer's path with and without the rollup trigger of plain PostgreSQL",
  run,
};

/** `npx tsx bench/db-trigger.ts [--rows n] [--devices n] [--batch n] [--rounds n]`, with .stack/env in the environment. */
