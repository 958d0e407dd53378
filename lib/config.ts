import convict from 'convict';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors';

/**
 * Configuration pieces the services share. Each service composes the pieces it needs
 * into one convict schema; a setting has one environment variable name in every service
 * (`MQTT_BROKER`, `POSTGRES_HOST`, `KAFKA_BROKERS`, …).
 */
export const mqttSchema = {
  broker: { doc: 'MQTT broker host', format: String, default: 'localhost', env: 'MQTT_BROKER' },
  port: { doc: 'MQTT broker port', format: 'port', default: 1883, env: 'MQTT_PORT' },
  username: { doc: 'MQTT user name (empty: anonymous)', format: String, default: '', env: 'MQTT_USERNAME' },
  password: { doc: 'MQTT password', format: String, default: '', env: 'MQTT_PASSWORD', sensitive: true },
  tls: {
    doc: 'Connect to the broker over TLS (mqtts), verifying its certificate and name',
    format: 'boolean-text',
    default: false,
    env: 'MQTT_TLS',
  },
  caFile: {
    doc: 'PEM file of the CAs that signed the broker\'s certificate ("": the system\'s); needs MQTT_TLS=true',
    format: String,
    default: '',
    env: 'MQTT_CA_FILE',
  },
  certFile: {
    doc: 'PEM client certificate, for brokers that require one (with MQTT_KEY_FILE); needs MQTT_TLS=true',
    format: String,
    default: '',
    env: 'MQTT_CERT_FILE',
  },
  keyFile: { doc: 'PEM private key of MQTT_CERT_FILE', format: String, default: '', env: 'MQTT_KEY_FILE' },
  serverName: {
    doc: 'Name the broker\'s certificate must carry ("": MQTT_BROKER); also sent as SNI',
    format: String,
    default: '',
    env: 'MQTT_SERVER_NAME',
  },
};

export const kafkaSchema = {
  brokers: {
    doc: 'Kafka bootstrap brokers, comma-separated host:port',
    format: 'host-port-list',
    default: 'localhost:9092',
    env: 'KAFKA_BROKERS',
  },
  clientId: { doc: 'Kafka client id prefix', format: String, default: 'iot-pipeline', env: 'KAFKA_CLIENT_ID' },
  telemetryTopic: { doc: 'Topic of validated readings', format: 'topic', default: 'iot.telemetry.v1', env: 'TELEMETRY_TOPIC' },
  dlqTopic: { doc: 'Dead-letter topic for rejected payloads', format: 'topic', default: 'iot.telemetry.dlq', env: 'DLQ_TOPIC' },
  alertsTopic: { doc: 'Topic of alerts', format: 'topic', default: 'iot.alerts.v1', env: 'ALERTS_TOPIC' },
  sessionTimeoutMs: {
    doc: 'Consumer groups: how long a silent member keeps its partitions (a crashed writer or detector stalls them this long)',
    format: 'positive-int',
    default: 10000,
    env: 'KAFKA_SESSION_TIMEOUT_MS',
  },
  fetchMaxWaitMs: {
    doc: 'Consumers: longest time, in ms, the broker holds a fetch that has no new records; a graceful stop waits for the fetch in flight',
    format: 'positive-int',
    default: 500,
    env: 'KAFKA_FETCH_MAX_WAIT_MS',
  },
  saslMechanism: {
    doc: 'Kafka SASL mechanism: plain, scram-sha-256 or scram-sha-512 ("": no SASL)',
    format: ['', 'plain', 'scram-sha-256', 'scram-sha-512'],
    default: '',
    env: 'KAFKA_SASL_MECHANISM',
  },
  saslUsername: { doc: 'Kafka SASL user name', format: String, default: '', env: 'KAFKA_SASL_USERNAME' },
  saslPassword: { doc: 'Kafka SASL password', format: String, default: '', env: 'KAFKA_SASL_PASSWORD', sensitive: true },
  ssl: { doc: "Connect to Kafka over TLS, verifying the brokers' certificates", format: 'boolean-text', default: false, env: 'KAFKA_SSL' },
  sslCaFile: {
    doc: 'PEM file of the CAs that signed the brokers\' certificates ("": the system\'s); needs KAFKA_SSL=true',
    format: String,
    default: '',
    env: 'KAFKA_SSL_CA_FILE',
  },
};

export const registrySchema = {
  url: {
    doc: 'Schema registry base URL (Confluent API)',
    format: 'url',
    default: 'http://localhost:8081/apis/ccompat/v7',
    env: 'SCHEMA_REGISTRY_URL',
  },
};

export const postgresSchema = {
  host: { doc: 'PostgreSQL host', format: String, default: 'localhost', env: 'POSTGRES_HOST' },
  port: { doc: 'PostgreSQL port', format: 'port', default: 5432, env: 'POSTGRES_PORT' },
  database: { doc: 'Database name', format: String, default: 'iot_analytics', env: 'POSTGRES_DB' },
  user: { doc: 'Database user', format: String, default: 'iot', env: 'POSTGRES_USER' },
  password: { doc: 'Database password', format: String, default: 'iot_password', env: 'POSTGRES_PASSWORD', sensitive: true },
};

export const metricsSchema = {
  port: { doc: 'Port of /metrics and /healthz (0: any free port)', format: 'port', default: 9464, env: 'METRICS_PORT' },
};

convict.addFormat({
  name: 'host-port-list',
  validate(value: unknown) {
    const list = String(value)
      .split(',')
      .map((s) => s.trim());
    for (const entry of list) {
      if (!/^[^\s:]+:\d{1,5}$/.test(entry)) throw new Error('must be host:port[,host:port...]');
    }
  },
});
convict.addFormat({
  name: 'url',
  validate(value: unknown) {
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw new Error('must be an absolute URL (http://host:port/path)');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http or https URL');
  },
});
convict.addFormat({
  name: 'topic',
  validate(value: unknown) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(value)) {
      throw new Error('must be a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)');
    }
  },
});
convict.addFormat({
  name: 'positive-int',
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) <= 0) throw new Error('must be a positive integer');
  },
  coerce: (v: string) => Number(v),
});
convict.addFormat({
  name: 'positive-number',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new Error('must be a positive number');
  },
  coerce: (v: string) => Number(v),
});

// convict's own Boolean reads every string but "false" as true, so KAFKA_SSL=0 would mean TLS.
convict.addFormat({
  name: 'boolean-text',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error('must be true or false');
  },
  coerce: (v: string) => {
    const text = v.trim().toLowerCase();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0' || text === '') return false;
    return v;
  },
});

/** The shape of the values a convict schema describes: each leaf typed by its default. */
export type ConfigOf<S> = { [K in keyof S]: S[K] extends { default: infer D } ? D : ConfigOf<S[K]> };

/**
 * Loads and validates a schema from defaults, the environment and `overrides` (CLI flags).
 * Throws one ConfigError naming every bad key (by its environment variable where it has one).
 */
export function loadConfig<S extends object>(
  schema: S,
  overrides: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const problems: { key: string; message: string }[] = [];
  const config = convict(schema as convict.Schema<ConfigOf<S>>, { env: withSecretFiles(schema, env, problems), args: [] });
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    try {
      config.set(key as never, value as never);
    } catch (err) {
      problems.push({ key, message: (err as Error).message });
    }
  }
  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    problems.push(...parseConvictErrors((err as Error).message, schema));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config.getProperties() as ConfigOf<S>;
}

/**
 * Secrets from files (Docker and Kubernetes secrets are files): for every sensitive key,
 * `<ENV>_FILE` names a file whose content, less one trailing newline, is the value. Setting
 * both is an error, as it is unclear which one the operator meant.
 */
function withSecretFiles(schema: unknown, env: NodeJS.ProcessEnv, problems: { key: string; message: string }[]): NodeJS.ProcessEnv {
  let out = env;
  for (const name of sensitiveEnvNames(schema)) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push({ key: `${name}_FILE`, message: `set ${name} or ${name}_FILE, not both` });
      continue;
    }
    try {
      out = { ...out, [name]: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
    } catch (err) {
      problems.push({
        key: `${name}_FILE`,
        message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
    }
  }
  return out;
}

function sensitiveEnvNames(node: unknown): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const leaf = node as { sensitive?: unknown; env?: unknown; default?: unknown };
  if ('default' in leaf) return leaf.sensitive === true && typeof leaf.env === 'string' ? [leaf.env] : [];
  return Object.values(node).flatMap(sensitiveEnvNames);
}

/** convict reports "path: message: value was ..." one per line; name the env var an operator sets. */
function parseConvictErrors(text: string, schema: unknown): { key: string; message: string }[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = /^([\w.]+): (.*)$/.exec(line.trim());
      if (!m) return { key: '(config)', message: line };
      const env = envNameOf(schema, m[1]);
      return { key: env ? `${env} (${m[1]})` : m[1], message: m[2] };
    });
}

function envNameOf(schema: unknown, path: string): string | undefined {
  let node: unknown = schema;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  const env = (node as { env?: unknown } | undefined)?.env;
  return typeof env === 'string' ? env : undefined;
}

export function brokerList(brokers: string): string[] {
  return brokers
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}
