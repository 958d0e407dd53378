import { spawn } from 'node:child_process';
import type { PostgresConfig } from '../db/config';

/**
 * Runs psql against one database (the raw baseline the writer is compared with) and
 * resolves with its wall time in ms. Fails with psql's stderr on a non-zero exit.
 */
export function psql(config: PostgresConfig, args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', config.host, '-p', String(config.port), '-U', config.user, '-d', config.database, ...args],
    {
      env: { ...process.env, PGPASSWORD: config.password },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`psql exited ${code}: ${stderr.trim()}`)),
    );
  });
}
