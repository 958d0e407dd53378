import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SERVICE_SH = join(__dirname, '..', 'deploy', 'native', 'service.sh');
const run = promisify(execFile);

/**
 * One server of the native stack, through deploy/native/service.sh (STACK_DIR from the
 * environment picks the stack): the fault tests' way to stop, kill and restart real servers.
 */
export async function nativeService(name: string, verb: 'start' | 'stop' | 'kill' | 'restart'): Promise<void> {
  await run('bash', [SERVICE_SH, name, verb]);
}
