import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ConfigOf, mqttSchema } from './config';
import { ConfigError } from './errors';

/** The TLS part of `mqttSchema`, as loaded. */
export type MqttTlsConfig = Pick<ConfigOf<typeof mqttSchema>, 'broker' | 'tls' | 'caFile' | 'certFile' | 'keyFile' | 'serverName'>;

/**
 * Node TLS options for a broker connection, or undefined for plain TCP. The broker's
 * certificate is always verified, its name against MQTT_SERVER_NAME or else the host. Pure but
 * for reading the files (injected, for tests). Contradictory settings throw one ConfigError
 * naming every key: a CA file without TLS would suggest encryption that is not there.
 */
export function mqttTlsOptions(
  config: MqttTlsConfig,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): ConnectionOptions | undefined {
  const problems: { key: string; message: string }[] = [];
  const files = [
    ['MQTT_CA_FILE', config.caFile],
    ['MQTT_CERT_FILE', config.certFile],
    ['MQTT_KEY_FILE', config.keyFile],
  ] as const;
  if (!config.tls) {
    for (const [key, value] of [...files, ['MQTT_SERVER_NAME', config.serverName] as const]) {
      if (value !== '') problems.push({ key, message: 'is set but MQTT_TLS is false' });
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return undefined;
  }
  if ((config.certFile === '') !== (config.keyFile === '')) {
    problems.push({
      key: config.certFile === '' ? 'MQTT_CERT_FILE' : 'MQTT_KEY_FILE',
      message: 'a client certificate needs both MQTT_CERT_FILE and MQTT_KEY_FILE',
    });
  }
  const read: Partial<Record<(typeof files)[number][0], Buffer>> = {};
  for (const [key, file] of files) {
    if (file === '') continue;
    try {
      read[key] = readFile(file);
    } catch (err) {
      problems.push({ key, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const name = config.serverName || config.broker;
  return {
    rejectUnauthorized: true,
    // SNI takes host names only; an IP address is still checked against the certificate's IP SANs
    ...(isIP(name) ? {} : { servername: name }),
    ...(read.MQTT_CA_FILE ? { ca: [read.MQTT_CA_FILE] } : {}),
    ...(read.MQTT_CERT_FILE ? { cert: read.MQTT_CERT_FILE, key: read.MQTT_KEY_FILE } : {}),
  };
}

/**
 * A TLS failure in words an operator can act on: which check failed and which setting
 * decides it (node's codes alone, like UNABLE_TO_VERIFY_LEAF_SIGNATURE, do not say that).
 */
export function describeTlsError(err: NodeJS.ErrnoException): string | undefined {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS: the broker's certificate does not carry the name asked for (${err.message}); check MQTT_SERVER_NAME or MQTT_BROKER`;
  }
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return `TLS: the broker's certificate is not trusted (${code}: ${err.message}); check MQTT_CA_FILE`;
  }
  if (code.startsWith('ERR_SSL') || code === 'EPROTO')
    return `TLS handshake failed (${code}: ${err.message}); is MQTT_PORT the broker's TLS listener?`;
  return undefined;
}
