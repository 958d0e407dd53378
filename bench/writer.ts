import { randomBytes } from 'node:crypto';
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '../schemas';
import { CopyBinaryWriter } from '../writer/copy-format';
import { telemetryTable } from '../writer/tables';
import { createTestTopics, telemetryCodec, testKafka } from '../testkit/kafka';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';
import { deleteTopics, fleetSample } from './fixtures';
import { cpuProfileEnv, profileDir, profileNotes, summariseDir } from './profile';
import { psql } from './psql';
import { Benchmark, BenchContext, BenchResult, numberFlag, ratio } from './report';

const COLUMNS = '(time, device_id, firmware, temperature, humidity, battery)';

/** A reading as one line of COPY text into device_telemetry itself (the baseline's file). */
function directCopyLine(r: Reading): string {
  const us = r.time % 1000;
  const iso = new Date(Math.floor(r.time / 1000)).toISOString().replace('Z', `${String(us).padStart(3, '0')}Z`);
  return `${iso}\t${r.device_id}\t${r.firmware ?? '\\N'}\t${r.temperature ?? '\\N'}\t${r.humidity ?? '\\N'}\t${r.battery ?? '\\N'}\n`;
}

/**
 * The writer's staging path (writer/tables.ts: binary COPY into the staging table, INSERT what
 * is new, one transaction per batch; what it falls back to for a batch with a stored identity)
 * run by psql: what the database costs for that way of storing, with no Node, Kafka or Avro in
 * the way. Binary COPY data cannot sit inline in a
 * script, so each batch is a file of its own, loaded with \copy.
 */
function stagingScript(readings: readonly Reading[], batchSize: number, dir: string): string {
  const parts = [`${telemetryTable.createStaging};\n`];
  for (let i = 0; i < readings.length; i += batchSize) {
    const w = new CopyBinaryWriter();
    for (const r of telemetryTable.distinct(readings.slice(i, i + batchSize))) telemetryTable.encodeRow(w, r);
    const file = join(dir, `batch-${i}.bin`);
    writeFileSync(file, Buffer.concat(w.finish()));
    parts.push(
      `BEGIN;\n\\copy ${telemetryTable.stagingTable} (${telemetryTable.copyColumns.join(',')}) FROM '${file}' WITH (FORMAT binary)\n`,
      `${telemetryTable.insertNew};\nCOMMIT;\n`,
    );
  }
  return parts.join('');
}

async function rowCount(db: TestDatabase): Promise<number> {
  return (await db.pool.query('SELECT count(*)::int AS n FROM device_telemetry')).rows[0].n;
}

/** Loads `file` with psql into a fresh migrated database; returns rows/s (and drops the database). */
async function psqlLoad(prefix: string, args: (file: string) => string[], file: string, expected: number): Promise<number> {
  const db = await createMigratedDatabase(prefix);
  try {
    const ms = await psql(db.config, args(file));
    const n = await rowCount(db);
    if (n !== expected) throw new Error(`${prefix}: ${n} rows after load, expected ${expected}`);
    return expected / (ms / 1000);
  } finally {
    await db.drop();
  }
}

async function run({ flags, progress }: BenchContext): Promise<BenchResult> {
  const rows = numberFlag(flags, 'rows', 200_000);
  const devices = numberFlag(flags, 'devices', 1000);
  const partitions = numberFlag(flags, 'partitions', 6);
  const batchSize = numberFlag(flags, 'batch-size', 5000);
  const profile = flags.profile === true;

  progress.phase(`generating ${rows} readings`);
  const { readings } = fleetSample(rows, devices);
  const dir = mkdtempSync(join(tmpdir(), 'bench-writer-'));
  const directFile = join(dir, 'direct.tsv');
  const stagingFile = join(dir, 'staging.sql');
  writeFileSync(directFile, readings.map(directCopyLine).join(''));
  writeFileSync(stagingFile, stagingScript(readings, batchSize, dir));

  const topics = await createTestTopics('bench-writer', partitions);
  const codec = await telemetryCodec(topics.telemetry);
  const producer = testKafka().producer();
  await producer.connect();
  let produced = 0;
  progress.phase('producing to Kafka', () => `${produced}/${rows}`);
  const produceStarted = performance.now();
  for (let i = 0; i < readings.length; i += 5000) {
    const messages = readings.slice(i, i + 5000).map((r) => ({ key: r.device_id, value: codec.encode(r) }));
    await producer.send({ topic: topics.telemetry, acks: -1, messages });
    produced += messages.length;
  }
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  await producer.disconnect();

  const copyArgs = (file: string) => ['-c', `\\copy device_telemetry ${COLUMNS} FROM '${file}'`];
  const scriptArgs = (file: string) => ['-f', file];
  const copyRates: number[] = [];
  const stagingRates: number[] = [];
  // Baselines before and after the writer, so a drift of the machine's load shows in the spread.
  progress.phase('baseline: psql \\copy into device_telemetry');
  copyRates.push(await psqlLoad('bench_copy', copyArgs, directFile, rows));
  progress.phase(`baseline: psql, the writer's SQL in batches of ${batchSize}`);
  stagingRates.push(await psqlLoad('bench_staging', scriptArgs, stagingFile, rows));

  const db = await createMigratedDatabase('bench_writer');
  const profDir = profile ? profileDir('writer') : undefined;
  const writer = new ServiceProcess('writer', [], {
    ...topics.env,
    ...db.env,
    WRITER_GROUP_ID: `bench-writer-${randomBytes(4).toString('hex')}`,
    WRITER_SINK_ALERTS: 'false',
    BATCH_SIZE: String(batchSize),
    ...(profDir ? cpuProfileEnv(profDir) : {}),
  });
  let writerSeconds: number;
  let fromSpawnSeconds: number;
  let inserted = 0;
  // The writer's own view of its flushes: rows per transaction and how long one takes.
  const histograms: Record<string, number> = {};
  let copyShare: number;
  try {
    const spawned = performance.now();
    // Timed from the first committed batch, not from 'joined group': start-up (tsx, group
    // join, first fetch) is a fixed cost that says nothing about the drain rate.
    progress.phase('writer starting');
    await writer.waitForLog(/"metricsPort"/);
    await waitUntil(
      'writer first rows',
      async () => (inserted = await writer.metricValue('iot_writer_rows_total', { result: 'inserted' })) > 0,
      120_000,
      20,
    );
    const firstRows = performance.now();
    const firstBatch = inserted;
    progress.phase('writer draining', () => `${inserted}/${rows} rows`);
    await waitUntil(
      `${rows} rows`,
      async () => (inserted = await writer.metricValue('iot_writer_rows_total', { result: 'inserted' })) >= rows,
      600_000,
      200,
    );
    const done = performance.now();
    // Timed from the first commit: the rows of that first batch are not counted in the rate.
    writerSeconds = (done - firstRows) / 1000;
    inserted -= firstBatch;
    fromSpawnSeconds = (done - spawned) / 1000;
    copyShare =
      (await writer.metricValue('iot_writer_batches_total', { table: 'device_telemetry', path: 'copy' })) /
      (await writer.metricValue('iot_writer_batch_rows_count', { table: 'device_telemetry' }));
    for (const h of ['iot_writer_batch_rows', 'iot_writer_write_seconds']) {
      histograms[h] =
        (await writer.metricValue(`${h}_sum`, { table: 'device_telemetry' })) /
        (await writer.metricValue(`${h}_count`, { table: 'device_telemetry' }));
    }
    const n = await rowCount(db);
    if (n !== rows) throw new Error(`writer: ${n} rows in the table, expected ${rows}`);
  } finally {
    await writer.kill('SIGTERM');
    await db.drop();
  }

  progress.phase('baseline again: psql \\copy');
  copyRates.push(await psqlLoad('bench_copy', copyArgs, directFile, rows));
  progress.phase('baseline again: psql, writer SQL');
  stagingRates.push(await psqlLoad('bench_staging', scriptArgs, stagingFile, rows));
  rmSync(dir, { recursive: true, force: true });
  await deleteTopics([topics.telemetry, topics.alerts, topics.dlq]);

  const writerRate = inserted / writerSeconds;
  const copyRate = copyRates.reduce((a, b) => a + b) / copyRates.length;
  const stagingRate = stagingRates.reduce((a, b) => a + b) / stagingRates.length;
  return {
    params: { rows, devices, partitions, batchSize, profile },
    figures: [
      {
        metric: 'writer drain (Kafka → device_telemetry)',
        value: writerRate,
        unit: 'rows/s',
        baseline: copyRate,
        ratio: ratio(writerRate, copyRate),
      },
      {
        metric: 'writer vs its staging path run by psql',
        value: writerRate,
        unit: 'rows/s',
        baseline: stagingRate,
        ratio: ratio(writerRate, stagingRate),
      },
      {
        metric: 'psql: staging path (staging + insert-new)',
        value: stagingRate,
        unit: 'rows/s',
        baseline: copyRate,
        ratio: ratio(stagingRate, copyRate),
      },
      { metric: 'psql \\copy direct (baseline)', value: copyRate, unit: 'rows/s' },
      { metric: 'writer, from process spawn', value: rows / fromSpawnSeconds, unit: 'rows/s' },
      { metric: 'writer: mean rows per transaction', value: histograms.iot_writer_batch_rows, unit: 'rows' },
      { metric: 'writer: transactions by plain COPY (the rest: staging)', value: copyShare, unit: 'share' },
      { metric: 'writer: mean transaction (2 in flight)', value: histograms.iot_writer_write_seconds * 1000, unit: 'ms' },
      {
        metric: 'writer: transaction time / drain time (> 1: overlapping)',
        value:
          ((histograms.iot_writer_batch_rows > 0 ? inserted / histograms.iot_writer_batch_rows : 0) * histograms.iot_writer_write_seconds) /
          writerSeconds,
        unit: 'share of drain',
      },
      { metric: 'KafkaJS produce of the input (acks=all)', value: rows / produceSeconds, unit: 'rows/s' },
    ],
    notes: [
      `Rows are simulator readings of ${devices} devices (one per 10 s), already in Kafka (${partitions} partitions) before the writer starts; the drain is timed from the first committed batch to the last (polling the writer's iot_writer_rows_total every 200 ms: each scrape makes prom-client collect its process metrics in the writer, so faster polling would slow what it measures), then checked with count(*).`,
      `Each load goes into a fresh migrated database (same table, same two indexes). Baselines ran before and after the writer: \\copy ${copyRates.map((r) => r.toFixed(0)).join(' / ')} rows/s, writer SQL ${stagingRates.map((r) => r.toFixed(0)).join(' / ')} rows/s.`,
      ...(profDir ? profileNotes('writer', summariseDir(profDir)) : []),
    ],
    detail: { copyRates, stagingRates, writerSeconds, fromSpawnSeconds, produceSeconds, histograms },
  };
}

export const writerBench: Benchmark = {
  name: 'writer',
  about: 'writer drain rate into device_telemetry vs psql \\copy of the same rows (--rows 200000 --batch-size 5000 --profile)',
  run,
};
