import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, mqttSchema, kafkaSchema, postgresSchema } from './config';
import { ConfigError } from './errors';

const schema = { mqtt: mqttSchema, kafka: kafkaSchema, postgres: postgresSchema };

describe('loadConfig', () => {
  it('reads the shared environment variables', () => {
    const cfg = loadConfig(schema, {}, { MQTT_BROKER: 'broker.local', MQTT_PORT: '1884', POSTGRES_DB: 'x' });
    expect(cfg.mqtt.broker).toBe('broker.local');
    expect(cfg.mqtt.port).toBe(1884);
    expect(cfg.postgres.database).toBe('x');
  });

  it('names every bad key and its environment variable at once', () => {
    let error: unknown;
    try {
      loadConfig(schema, {}, { MQTT_PORT: 'abc', KAFKA_BROKERS: 'nohostport' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('MQTT_PORT (mqtt.port)');
    expect(message).toContain('KAFKA_BROKERS (kafka.brokers)');
    expect(message).toContain('host:port');
  });

  it('rejects a bad CLI override by its key', () => {
    expect(() => loadConfig(schema, { 'mqtt.port': -1 }, {})).toThrow(/mqtt\.port/);
  });
});

describe('secrets from files (<KEY>_FILE)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-secrets-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function secretFile(name: string, content: string): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, 0o600);
    return path;
  }

  it('reads every password from its file, less one trailing newline', () => {
    const cfg = loadConfig(
      schema,
      {},
      {
        MQTT_PASSWORD_FILE: secretFile('mqtt', 'm-pw\n'),
        POSTGRES_PASSWORD_FILE: secretFile('pg', 'p-pw\r\n'),
        KAFKA_SASL_PASSWORD_FILE: secretFile('kafka', ' k pw \n\n'),
      },
    );
    expect([cfg.mqtt.password, cfg.postgres.password, cfg.kafka.saslPassword]).toEqual(['m-pw', 'p-pw', ' k pw \n']);
  });

  it('refuses a value and a file for the same key, and names an unreadable file', () => {
    let error: unknown;
    try {
      loadConfig(
        schema,
        {},
        { POSTGRES_PASSWORD: 'x', POSTGRES_PASSWORD_FILE: secretFile('pg2', 'y'), MQTT_PASSWORD_FILE: join(dir, 'missing') },
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).keys.sort()).toEqual(['MQTT_PASSWORD_FILE', 'POSTGRES_PASSWORD_FILE']);
    expect((error as Error).message).toMatch(/POSTGRES_PASSWORD_FILE: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, not both/);
    expect((error as Error).message).toMatch(/MQTT_PASSWORD_FILE: cannot read .*missing: ENOENT/);
  });

  it('takes _FILE only for secrets', () => {
    const cfg = loadConfig(schema, {}, { MQTT_BROKER_FILE: secretFile('broker', 'elsewhere') });
    expect(cfg.mqtt.broker).toBe('localhost');
  });
});
