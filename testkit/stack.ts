import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The endpoints every service reads; tests get them the same way. */
export const ENDPOINT_KEYS = [
  'MQTT_BROKER',
  'MQTT_PORT',
  'KAFKA_BROKERS',
  'SCHEMA_REGISTRY_URL',
  'POSTGRES_HOST',
  'POSTGRES_PORT',
  'POSTGRES_DB',
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
] as const;

/** The broker's TLS listener and the CA that signed its certificate, where the stack has one. */
export const TLS_ENDPOINT_KEYS = ['MQTT_TLS_PORT', 'MQTT_TLS_CA_FILE'] as const;

export type Endpoints = Record<(typeof ENDPOINT_KEYS)[number], string> & Partial<Record<(typeof TLS_ENDPOINT_KEYS)[number], string>>;

const ROOT = join(__dirname, '..');

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}

function complete(env: Record<string, string | undefined>): Endpoints | undefined {
  if (!ENDPOINT_KEYS.every((k) => env[k])) return undefined;
  return Object.fromEntries([...ENDPOINT_KEYS, ...TLS_ENDPOINT_KEYS].filter((k) => env[k]).map((k) => [k, env[k]])) as Endpoints;
}

function dockerAnswers(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10000 }).status === 0;
}

/** Docker path: the compose stack through testcontainers (not reachable on machines without an engine). */
async function fromDocker(): Promise<Endpoints> {
  const { DockerComposeEnvironment, Wait } = await import('testcontainers');
  const env = await new DockerComposeEnvironment(join(ROOT, 'deploy'), 'compose.yml')
    .withWaitStrategy('kafka', Wait.forHealthCheck())
    .withWaitStrategy('timescaledb', Wait.forHealthCheck())
    .up(['mosquitto', 'kafka', 'registry', 'timescaledb']);
  const port = (service: string, p: number) => String(env.getContainer(`${service}-1`).getMappedPort(p));
  return {
    MQTT_BROKER: '127.0.0.1',
    MQTT_PORT: port('mosquitto', 1883),
    KAFKA_BROKERS: `127.0.0.1:${port('kafka', 9094)}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${port('registry', 8080)}/apis/ccompat/v7`,
    POSTGRES_HOST: '127.0.0.1',
    POSTGRES_PORT: port('timescaledb', 5432),
    POSTGRES_DB: 'iot_analytics',
    POSTGRES_USER: 'iot',
    POSTGRES_PASSWORD: 'iot_password',
  };
}

/** Native path: deploy/native/up.sh is idempotent, a quick no-op when the stack already runs. */
function fromNativeStack(): Endpoints {
  execFileSync('bash', [join(ROOT, 'deploy/native/up.sh')], { stdio: 'inherit' });
  const envFile = join(process.env.STACK_DIR ?? join(ROOT, '.stack'), 'env');
  if (!existsSync(envFile)) throw new Error(`${envFile} missing after stack:up`);
  const endpoints = complete(parseEnvFile(readFileSync(envFile, 'utf8')));
  if (!endpoints) throw new Error(`${envFile} lacks some of ${ENDPOINT_KEYS.join(', ')}`);
  return endpoints;
}

/** Endpoints given in the environment; else a Docker engine; else the native stack, started on demand. */
export async function findStack(): Promise<{ endpoints: Endpoints; source: string }> {
  const given = complete(process.env);
  if (given) return { endpoints: given, source: 'environment' };
  if (dockerAnswers()) return { endpoints: await fromDocker(), source: 'docker' };
  return { endpoints: fromNativeStack(), source: 'native stack' };
}
