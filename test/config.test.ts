import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ServiceProcess } from '../testkit/service-process';

const ROOT = join(__dirname, '..');

function runCli(command: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/index.ts'), command], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('a bad configuration value stops start-up with a message naming the key', () => {
  it.each([
    ['bridge', { MQTT_PORT: 'not-a-port' }, 'MQTT_PORT'],
    ['bridge', { MQTT_PROTOCOL_VERSION: '3' }, 'MQTT_PROTOCOL_VERSION'],
    ['writer', { BATCH_SIZE: '0' }, 'BATCH_SIZE'],
    ['writer', { KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    ['migrate', { TELEMETRY_RETENTION: 'forever' }, 'TELEMETRY_RETENTION'],
    ['topics', { SCHEMA_REGISTRY_URL: 'not a url' }, 'SCHEMA_REGISTRY_URL'],
    ['simulate', { DEVICE_COUNT: 'many' }, 'DEVICE_COUNT'],
    ['detector', { DETECTOR_Z_THRESHOLD: '-1' }, 'DETECTOR_Z_THRESHOLD'],
    ['detector', { DETECTOR_MIN_SAMPLES: '2' }, 'DETECTOR_MIN_SAMPLES'],
    ['alerts', { KAFKA_BROKERS: 'nowhere' }, 'KAFKA_BROKERS'],
  ])('%s with %j', (command, env, key) => {
    const { status, stderr } = runCli(command, env);
    expect(status).not.toBe(0);
    expect(stderr).toContain(key);
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('names every bad key at once', () => {
    const { stderr } = runCli('writer', { BATCH_SIZE: '-5', POSTGRES_PORT: '99999', WRITER_LINGER_MS: 'soon' });
    expect(stderr).toContain('BATCH_SIZE');
    expect(stderr).toContain('POSTGRES_PORT');
    expect(stderr).toContain('WRITER_LINGER_MS');
  });

  it('a valid MQTT_PROTOCOL_VERSION from the environment is accepted', async () => {
    // Past configuration the bridge starts waiting for its servers (here on a closed port).
    const bridge = new ServiceProcess('bridge', [], {
      MQTT_PROTOCOL_VERSION: '4',
      MQTT_PORT: '1',
      KAFKA_BROKERS: '127.0.0.1:1',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
    });
    try {
      await bridge.waitForLog(/waiting for schema registry/);
      expect(bridge.output.join('\n')).not.toContain('MQTT_PROTOCOL_VERSION');
    } finally {
      await bridge.kill();
    }
  });
});
