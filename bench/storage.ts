import { createMigratedDatabase } from '../testkit/pg';
import { Benchmark, BenchContext, BenchResult, numberFlag, ratio } from './report';
import { hourlySpans, insertSpanSql } from './telemetry-sql';

const COLUMNS = ['time', 'device_id', 'firmware', 'temperature', 'humidity', 'battery'];
const DAY_S = 86_400;

interface Sizes {
  rows: number;
  totalBytes: number;
  tableBytes: number;
  indexBytes: number;
}

/** A whole UTC day a few days back: one 1-day chunk on TimescaleDB, inside the default retention. */
function dayStartMs(): number {
  const today = Math.floor(Date.now() / (DAY_S * 1000)) * DAY_S * 1000;
  return today - 3 * DAY_S * 1000;
}

async function run({ flags, progress }: BenchContext): Promise<BenchResult> {
  const devices = numberFlag(flags, 'devices', 100);
  const intervalS = numberFlag(flags, 'interval', 10);
  const seconds = numberFlag(flags, 'hours', 24) * 3600;
  const spans = hourlySpans(devices, dayStartMs(), seconds, intervalS);

  // Plain PostgreSQL (engine postgresql on the same server): the migrated table with its two
  // indexes and the rollup trigger, as the writer fills it.
  const db = await createMigratedDatabase('bench_storage_pg', { engine: 'postgresql' });
  let plain: Sizes;
  let plainLoadS: number;
  try {
    const started = performance.now();
    for (const [i, span] of spans.entries()) {
      progress.phase(`PostgreSQL: loading hour ${i + 1}/${spans.length}`);
      await db.pool.query(insertSpanSql(span));
    }
    plainLoadS = (performance.now() - started) / 1000;
    progress.phase('PostgreSQL: VACUUM ANALYZE');
    await db.pool.query('VACUUM ANALYZE device_telemetry');
    const { rows } = await db.pool.query(
      `SELECT count(*)::bigint AS rows, pg_total_relation_size('device_telemetry') AS total,
              pg_table_size('device_telemetry') AS tbl, pg_indexes_size('device_telemetry') AS idx FROM device_telemetry`,
    );
    plain = {
      rows: Number(rows[0].rows),
      totalBytes: Number(rows[0].total),
      tableBytes: Number(rows[0].tbl),
      indexBytes: Number(rows[0].idx),
    };
  } finally {
    await db.drop();
  }

  // TimescaleDB (engine timescaledb on the same server): the same rows, then every chunk compressed.
  progress.phase('TimescaleDB: migrating');
  const ts = await createMigratedDatabase('bench_storage_tsdb', { engine: 'timescaledb' });
  let before: Sizes;
  let after: { totalBytes: number; tableBytes: number; indexBytes: number; hypertableBytes: number };
  let chunks: number;
  let compressS: number;
  let tsLoadS: number;
  let tsVersion: string;
  const columnBytes: Record<string, number> = {};
  try {
    tsVersion = ts.report.timescaledbVersion ?? '?';
    const started = performance.now();
    for (const [i, span] of spans.entries()) {
      progress.phase(`TimescaleDB: loading hour ${i + 1}/${spans.length}`);
      await ts.pool.query(insertSpanSql(span));
    }
    tsLoadS = (performance.now() - started) / 1000;
    await ts.pool.query('VACUUM ANALYZE device_telemetry');
    const b = await ts.pool.query<{ rows: string; total: string; tbl: string; idx: string }>(
      `SELECT (SELECT count(*) FROM device_telemetry)::bigint AS rows, d.total_bytes AS total, d.table_bytes + coalesce(d.toast_bytes, 0) AS tbl, d.index_bytes AS idx
         FROM hypertable_detailed_size('device_telemetry') d`,
    );
    before = {
      rows: Number(b.rows[0].rows),
      totalBytes: Number(b.rows[0].total),
      tableBytes: Number(b.rows[0].tbl),
      indexBytes: Number(b.rows[0].idx),
    };
    progress.phase('TimescaleDB: compress_chunk on every chunk');
    const cs = performance.now();
    const c = await ts.pool.query<{ n: string }>(
      `SELECT count(compress_chunk(c, if_not_compressed => true))::int AS n FROM show_chunks('device_telemetry') c`,
    );
    compressS = (performance.now() - cs) / 1000;
    chunks = Number(c.rows[0].n);
    const s = await ts.pool.query<Record<string, string>>(
      `SELECT s.after_compression_total_bytes AS total, s.after_compression_table_bytes + coalesce(s.after_compression_toast_bytes, 0) AS tbl,
              s.after_compression_index_bytes AS idx, hypertable_size('device_telemetry') AS hyper
         FROM hypertable_compression_stats('device_telemetry') s`,
    );
    // Per column, summed over the compressed chunks' tables: what each column costs compressed.
    const tables = await ts.pool.query<{ t: string }>(
      `SELECT format('%I.%I', c2.schema_name, c2.table_name) AS t FROM _timescaledb_catalog.chunk c1
         JOIN _timescaledb_catalog.chunk c2 ON c1.compressed_chunk_id = c2.id`,
    );
    for (const { t } of tables.rows) {
      const r = await ts.pool.query<Record<string, string>>(
        `SELECT ${COLUMNS.map((c) => `sum(pg_column_size(${c}))::bigint AS ${c}`).join(', ')} FROM ${t}`,
      );
      for (const c of COLUMNS) columnBytes[c] = (columnBytes[c] ?? 0) + Number(r.rows[0][c]);
    }
    after = {
      totalBytes: Number(s.rows[0].total),
      tableBytes: Number(s.rows[0].tbl),
      indexBytes: Number(s.rows[0].idx),
      hypertableBytes: Number(s.rows[0].hyper),
    };
  } finally {
    await ts.drop();
  }

  const per = (bytes: number, rows: number) => bytes / rows;
  const plainPer = per(plain.totalBytes, plain.rows);
  const compressedPer = per(after.totalBytes, before.rows);
  return {
    params: { devices, intervalS, hours: seconds / 3600, rows: plain.rows },
    figures: [
      { metric: 'PostgreSQL: table + indexes', value: plainPer, unit: 'B/reading' },
      { metric: 'PostgreSQL: table only', value: per(plain.tableBytes, plain.rows), unit: 'B/reading' },
      { metric: 'PostgreSQL: indexes only', value: per(plain.indexBytes, plain.rows), unit: 'B/reading' },
      { metric: 'TimescaleDB uncompressed: total', value: per(before.totalBytes, before.rows), unit: 'B/reading' },
      {
        metric: 'TimescaleDB compressed: total',
        value: compressedPer,
        unit: 'B/reading',
        baseline: plainPer,
        ratio: ratio(compressedPer, plainPer),
        target: '<= 16',
        ok: compressedPer <= 16,
      },
      { metric: 'TimescaleDB compressed: data only', value: per(after.tableBytes, before.rows), unit: 'B/reading' },
      ...COLUMNS.map((c) => ({ metric: `  compressed column ${c}`, value: per(columnBytes[c] ?? 0, before.rows), unit: 'B/reading' })),
      { metric: 'TimescaleDB compressed: hypertable_size', value: per(after.hypertableBytes, before.rows), unit: 'B/reading' },
      { metric: 'load rate, PostgreSQL (generate_series)', value: plain.rows / plainLoadS, unit: 'rows/s' },
      { metric: 'load rate, TimescaleDB (generate_series)', value: before.rows / tsLoadS, unit: 'rows/s' },
      { metric: 'compress_chunk rate', value: before.rows / compressS, unit: 'rows/s' },
    ],
    notes: [
      `${plain.rows} readings: ${devices} devices × ${seconds / 3600} h × one per ${intervalS} s, made by generate_series in SQL (bench/telemetry-sql.ts), same SQL into two databases of the stack's server: one migrated for plain PostgreSQL, one for TimescaleDB ${tsVersion}.`,
      `Compressed: ${chunks} chunk(s), segment by device_id, order by time DESC (db/migrations/0003); figure = hypertable_compression_stats after_compression_total_bytes (compressed table + its indexes + toast) / readings. Continuous aggregates are not counted.`,
      "Load rates include the rollups' upkeep: the trigger on plain PostgreSQL; on TimescaleDB the continuous aggregates' invalidation log (their refresh runs on the scheduler's own time).",
    ],
    detail: { plain, before, after, columnBytes, plainLoadS, tsLoadS, compressS },
  };
}

export const storageBench: Benchmark = {
  name: 'storage',
  about:
    'bytes per reading on plain PostgreSQL and compressed on TimescaleDB, same server, for one simulated day (--devices 100 --hours 24)',
  run,
};
