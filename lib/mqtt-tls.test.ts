import { loadConfig, mqttSchema } from './config';
import { describeTlsError, mqttTlsOptions } from './mqtt-tls';
import { configErrorOf } from '../testkit/config-error';

const load = (env: Record<string, string>) => loadConfig({ mqtt: mqttSchema }, {}, env).mqtt;
const files: Record<string, string> = { '/ca.pem': 'CA', '/client.pem': 'CERT', '/client-key.pem': 'KEY' };
const readFile = (path: string) => {
  if (path in files) return Buffer.from(files[path]);
  throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
};

describe('mqttTlsOptions', () => {
  it('plain TCP by default', () => {
    expect(mqttTlsOptions(load({}), readFile)).toBeUndefined();
  });

  it('TLS verifies the broker against the system CAs and the broker host name', () => {
    expect(mqttTlsOptions(load({ MQTT_TLS: 'true', MQTT_BROKER: 'mqtt.example.org' }), readFile)).toEqual({
      rejectUnauthorized: true,
      servername: 'mqtt.example.org',
    });
  });

  it('reads the CA, the client certificate and key; an IP address is checked but not sent as SNI', () => {
    const env = {
      MQTT_TLS: '1',
      MQTT_BROKER: '127.0.0.1',
      MQTT_CA_FILE: '/ca.pem',
      MQTT_CERT_FILE: '/client.pem',
      MQTT_KEY_FILE: '/client-key.pem',
    };
    expect(mqttTlsOptions(load(env), readFile)).toEqual({
      rejectUnauthorized: true,
      ca: [Buffer.from('CA')],
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
    });
    expect(mqttTlsOptions(load({ ...env, MQTT_SERVER_NAME: 'broker.local' }), readFile)).toMatchObject({ servername: 'broker.local' });
  });

  it('names every key that contradicts MQTT_TLS=false, or cannot be read', () => {
    const off = configErrorOf(() => mqttTlsOptions(load({ MQTT_CA_FILE: '/ca.pem', MQTT_SERVER_NAME: 'x' }), readFile));
    expect(off.keys).toEqual(['MQTT_CA_FILE', 'MQTT_SERVER_NAME']);
    const missing = configErrorOf(() =>
      mqttTlsOptions(load({ MQTT_TLS: 'true', MQTT_CA_FILE: '/nope.pem', MQTT_CERT_FILE: '/client.pem' }), readFile),
    );
    expect(missing.keys).toEqual(['MQTT_KEY_FILE', 'MQTT_CA_FILE']);
    expect(missing.message).toContain('MQTT_KEY_FILE: a client certificate needs both MQTT_CERT_FILE and MQTT_KEY_FILE');
    expect(missing.message).toContain('MQTT_CA_FILE: cannot read /nope.pem: ENOENT');
  });
});

describe('describeTlsError', () => {
  it('says which setting decides a failed verification or name check', () => {
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(describeTlsError(untrusted)).toMatch(/not trusted .*check MQTT_CA_FILE/);
    const name = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(describeTlsError(name)).toMatch(/MQTT_SERVER_NAME/);
    expect(describeTlsError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeUndefined();
  });
});
