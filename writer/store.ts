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
}

const prepared = new WeakMap<PoolClient, Set<string>>();

/**
 * Writes one batch in one transaction: COPY into the staging table, insert what is new.
 * Either the whole batch is in the table afterwards or none of it is. `skipped` counts the
 * records dropped as a later duplicate within the batch as well as identities already stored.
 */
export async function writeBatch<T>(pool: Pool, table: TableSpec<T>, records: readonly T[]): Promise<WriteResult> {
  if (records.length === 0) return { inserted: 0, skipped: 0 };
  // Encoded before a connection is taken: the connection is busy only while the server works.
  const data = encodeRows(table, table.distinct(records));
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw new ConnectionError('PostgreSQL: cannot connect', err);
  }
  let broken = false;
  try {
    await ensureStaging(client, table);
    await client.query('BEGIN');
    const copy = client.query(copyFrom(`COPY ${table.stagingTable} (${table.copyColumns.join(',')}) FROM STDIN (FORMAT binary)`));
    await pipeline(Readable.from(data), copy);
    const result = await client.query(table.insertNew);
    await client.query('COMMIT');
    const inserted = result.rowCount ?? 0;
    return { inserted, skipped: records.length - inserted };
  } catch (err) {
    broken = true;
    throw classify(err, table.name);
  } finally {
    // A connection that failed mid-transaction is discarded rather than reused.
    client.release(broken ? true : undefined);
  }
}

async function ensureStaging<T>(client: PoolClient, table: TableSpec<T>): Promise<void> {
  let tables = prepared.get(client);
  if (!tables) prepared.set(client, (tables = new Set()));
  if (tables.has(table.stagingTable)) return;
  await client.query(table.createStaging);
  tables.add(table.stagingTable);
}

/** The batch as binary COPY data, in chunks of 64 KiB. */
function encodeRows<T>(table: TableSpec<T>, records: readonly T[]): Buffer[] {
  const w = new CopyBinaryWriter();
  for (const record of records) table.encodeRow(w, record);
  return w.finish();
}

/** Connection-level failures are retriable; SQL errors on our own statements are not. */
function classify(err: unknown, table: string): PipelineError {
  const { code = '', severity } = err as { code?: string; severity?: string };
  // No severity: not a server error but a socket failure (ECONNRESET, ECONNREFUSED, ...).
  const retriable =
    severity === undefined || /^(08|53|57)/.test(code) || code === '40001' || code === '40P01';
  return new PipelineError(`writing ${table}: ${(err as Error).message}`, { retriable, cause: err });
}
