import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { serverConfig } from './pg';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/**
 * Runs SQL that needs CREATEROLE (creating and dropping roles, granting membership) on the
 * configured server, however the tests can get that right:
 * - the configured role has it (a compose or CI database whose POSTGRES_USER is a superuser);
 * - else, on the native stack as root, the `postgres` superuser over the stack's socket (peer
 *   authentication as the OS user, as deploy/native/README.md says), which is how .ci/run runs;
 * - else it fails saying what is missing. The stack's own `iot` role has CREATEDB but, on
 *   purpose, not CREATEROLE (in PostgreSQL 15 CREATEROLE may grant itself into nearly any role).
 */
export async function adminSql(sql: string, database = 'postgres'): Promise<void> {
  const server = serverConfig();
  const client = new Client({ ...server, database, application_name: 'iot-pipeline-tests-admin' });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT rolsuper OR rolcreaterole AS may FROM pg_roles WHERE rolname = current_user');
    if (rows[0]?.may === true) {
      await client.query(sql);
      return;
    }
  } finally {
    await client.end();
  }
  const socketDir = join(process.env.STACK_DIR ?? join(ROOT, '.stack'), 'run', 'postgres');
  if (process.getuid?.() === 0 && existsSync(socketDir)) {
    await run(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        'psql',
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        socketDir,
        '-p',
        String(server.port),
        '-U',
        'postgres',
        '-d',
        database,
        '-c',
        sql,
      ],
      { cwd: '/' },
    );
    return;
  }
  throw new Error(
    `role ${server.user} lacks CREATEROLE and no superuser is at hand (not root on the native stack): ` +
      'point POSTGRES_USER at a role with CREATEROLE to run the role tests',
  );
}
