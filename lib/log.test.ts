import { Writable } from 'node:stream';
import { kafkaSchema, loadConfig, mqttSchema, postgresSchema } from './config';
import { kafkaSecurityOptions } from './kafka';
import { createLogger } from './log';

const SECRETS = { MQTT_PASSWORD: 'mqtt-s3cret-1', POSTGRES_PASSWORD: 'pg-s3cret-2', KAFKA_SASL_PASSWORD: 'kafka-s3cret-3' };
const env = { ...SECRETS, MQTT_USERNAME: 'bridge', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc' };

function capture(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) });
  return { logger: createLogger('test', 'info', sink), text: () => chunks.join('') };
}

// The shared sections that hold every secret; each service's schema reuses them (lib knows no service).
const mqttAndKafka = { mqtt: mqttSchema, kafka: kafkaSchema };
const kafkaAndPostgres = { kafka: kafkaSchema, postgres: postgresSchema };

describe('logging never shows a secret', () => {
  const bridge = loadConfig(mqttAndKafka, {}, env);
  const writer = loadConfig(kafkaAndPostgres, {}, env);

  it.each([
    ['a bridge config logged whole', (log: ReturnType<typeof createLogger>) => log.info(bridge, 'config')],
    ['a writer config under a key', (log: ReturnType<typeof createLogger>) => log.info({ config: writer }, 'config')],
    ['one section', (log: ReturnType<typeof createLogger>) => log.info({ kafka: writer.kafka, postgres: writer.postgres })],
    ['the KafkaJS security options', (log: ReturnType<typeof createLogger>) => log.info(kafkaSecurityOptions(writer.kafka))],
    [
      'the KafkaJS options under a key',
      (log: ReturnType<typeof createLogger>) => log.info({ options: kafkaSecurityOptions(writer.kafka) }),
    ],
    ['a child logger', (log: ReturnType<typeof createLogger>) => log.child({ component: 'x' }).warn({ config: bridge })],
  ])('%s', (_name, write) => {
    const { logger, text } = capture();
    write(logger);
    const out = text();
    expect(out).toContain('[redacted]');
    for (const secret of Object.values(SECRETS)) expect(out).not.toContain(secret);
    // What is not secret stays readable.
    expect(out).toMatch(/bridge|svc|scram-sha-512|localhost/);
  });
});
