import { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ConnectionError, PipelineError } from '../lib/errors';
import { CopyBinaryWriter } from './copy-format';
import { TableSpec } from './tables';

export interface WriteResult {
  /** Rows new to the table. */
  inserted: number;
  /** Rows whose identity was already stored (redeliveries, or a second reading for the same instant). */
  skipped: number;
  /** The batch went in by plain COPY (all of it new), not through the staging table. */
  copiedDirectly: boolean;
}

const prepared = new WeakMap<PoolClient, Set<string>>();
const UNIQUE_VIOLATION = '23505';

/**
 * Writes one batch in one transaction: either the whole batch is in the table afterwards or
 * none of it is. A table with `copyInto` first takes the batch by plain COPY, as fast as psql's
 * \copy; that works for every batch none of whose identities is stored yet, which is every batch
 * but the redeliveries after a crash or a rebalance. One stored identity makes that COPY fail
 * whole (unique violation); it is rolled back and the batch goes the careful way: COPY into the
 * staging table, insert what is new. `skipped` counts the records dropped as a later duplicate
 * within the batch as well as identities already stored.
 */
export async function writeBatch<T>(pool: Pool, table: TableSpec<T>, records: readonly T[]): Promise<WriteResult> {
  if (records.length === 0) return { inserted: 0, skipped: 0, copiedDirectly: false };
  // Encoded before a connection is taken: the connection is busy only while the server works.
  const distinct = table.distinct(records);
  const data = encodeRows(table, table.copyInto ? table.copyInto.inIdentityOrder(distinct) : distinct);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw new ConnectionError('PostgreSQL: cannot connect', err);
  }
  let broken = false;
  try {
    if (table.copyInto && (await copyAllNew(client, table.copyInto.statement, data))) {
      return { inserted: data.rows, skipped: records.length - data.rows, copiedDirectly: true };
    }
    const inserted = await copyThroughStaging(client, table, data);
    return { inserted, skipped: records.length - inserted, copiedDirectly: false };
  } catch (err) {
    broken = true;
    throw classify(err, table.name);
  } finally {
    // A connection that failed mid-transaction is discarded rather than reused.
    client.release(broken ? true : undefined);
  }
}

/** COPY straight into the table; false (rolled back) if an identity in it is stored already. */
async function copyAllNew(client: PoolClient, copyInto: string, data: EncodedRows): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await pipeline(Readable.from(data.chunks), client.query(copyFrom(copyInto)));
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    await client.query('ROLLBACK');
    return false;
  }
  await client.query('COMMIT');
  return true;
}

async function copyThroughStaging<T>(client: PoolClient, table: TableSpec<T>, data: EncodedRows): Promise<number> {
  await ensureStaging(client, table);
  await client.query('BEGIN');
  const copy = client.query(copyFrom(`COPY ${table.stagingTable} (${table.copyColumns.join(',')}) FROM STDIN (FORMAT binary)`));
  await pipeline(Readable.from(data.chunks), copy);
  const result = await client.query(table.insertNew);
  await client.query('COMMIT');
  return result.rowCount ?? 0;
}

async function ensureStaging<T>(client: PoolClient, table: TableSpec<T>): Promise<void> {
  let tables = prepared.get(client);
  if (!tables) prepared.set(client, (tables = new Set()));
  if (tables.has(table.stagingTable)) return;
  await client.query(table.createStaging);
  tables.add(table.stagingTable);
}

interface EncodedRows {
  rows: number;
  /** Binary COPY data, in chunks of 64 KiB: re-readable, for the second path if the first fails. */
  chunks: Buffer[];
}

function encodeRows<T>(table: TableSpec<T>, records: readonly T[]): EncodedRows {
  const w = new CopyBinaryWriter();
  for (const record of records) table.encodeRow(w, record);
  return { rows: records.length, chunks: w.finish() };
}

/** Connection-level failures are retriable; SQL errors on our own statements are not. */
function classify(err: unknown, table: string): PipelineError {
  const { code = '', severity } = err as { code?: string; severity?: string };
  // No severity: not a server error but a socket failure (ECONNRESET, ECONNREFUSED, ...).
  const retriable = severity === undefined || /^(08|53|57)/.test(code) || code === '40001' || code === '40P01';
  return new PipelineError(`writing ${table}: ${(err as Error).message}`, { retriable, cause: err });
}
