import { kafkaSchema, loadConfig } from './config';
import { consumerTimings, kafkaSecurityOptions } from './kafka';
import { configErrorOf } from '../testkit/config-error';

const load = (env: Record<string, string>) => loadConfig({ kafka: kafkaSchema }, {}, env).kafka;
const noFile = () => {
  throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
};

describe('kafkaSecurityOptions', () => {
  it('adds nothing by default: plaintext, no SASL', () => {
    expect(kafkaSecurityOptions(load({}), noFile)).toEqual({});
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])('SASL %s with user name and password', (mechanism) => {
    const config = load({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' });
    expect(kafkaSecurityOptions(config, noFile)).toEqual({ sasl: { mechanism, username: 'svc', password: 'pw' } });
  });

  it('TLS with the system CAs', () => {
    expect(kafkaSecurityOptions(load({ KAFKA_SSL: 'true' }), noFile)).toEqual({ ssl: true });
  });

  it('TLS with a CA file, and SASL over it', () => {
    const read = jest.fn(() => Buffer.from('-----BEGIN CERTIFICATE-----'));
    const config = load({
      KAFKA_SSL: '1',
      KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    });
    expect(kafkaSecurityOptions(config, read)).toEqual({
      ssl: { ca: [Buffer.from('-----BEGIN CERTIFICATE-----')] },
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
    });
    expect(read).toHaveBeenCalledWith('/etc/kafka/ca.pem');
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'plain' }, ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']],
    [{ KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' }, ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']],
    [{ KAFKA_SSL_CA_FILE: '/ca.pem' }, ['KAFKA_SSL_CA_FILE']],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/missing.pem' }, ['KAFKA_SSL_CA_FILE']],
  ])('settings that contradict each other stop start-up: %j', (env, keys) => {
    const err = configErrorOf(() => kafkaSecurityOptions(load(env), noFile));
    expect(err.keys).toEqual(keys);
  });

  it('names the key and the choices when the mechanism is not one it knows', () => {
    const err = configErrorOf(() => load({ KAFKA_SASL_MECHANISM: 'gssapi' }));
    expect(err.keys).toEqual(['KAFKA_SASL_MECHANISM (kafka.saslMechanism)']);
    expect(err.message).toMatch(/plain.*scram-sha-256.*scram-sha-512/);
  });

  it('reads KAFKA_SSL strictly: 0 is false, and a word it does not know is an error', () => {
    expect(load({ KAFKA_SSL: '0' }).ssl).toBe(false);
    expect(load({ KAFKA_SSL: 'FALSE' }).ssl).toBe(false);
    expect(configErrorOf(() => load({ KAFKA_SSL: 'yes please' })).keys).toEqual(['KAFKA_SSL (kafka.ssl)']);
  });
});

describe('consumerTimings', () => {
  it('heartbeats three times per session timeout and bounds the fetch wait (and so a graceful stop) by KAFKA_FETCH_MAX_WAIT_MS', () => {
    expect(consumerTimings(load({}))).toEqual({ sessionTimeout: 10000, heartbeatInterval: 3333, maxWaitTimeInMs: 500 });
    expect(consumerTimings(load({ KAFKA_SESSION_TIMEOUT_MS: '1200', KAFKA_FETCH_MAX_WAIT_MS: '100' }))).toEqual({
      sessionTimeout: 1200,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
  });
});
