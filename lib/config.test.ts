import { loadConfig, mqttSchema, kafkaSchema, postgresSchema } from './config';
import { ConfigError } from './errors';

const schema = { mqtt: mqttSchema, kafka: kafkaSchema, postgres: postgresSchema };

describe('loadConfig', () => {
  it('reads the seed environment variables', () => {
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
