import { readFileSync } from 'node:fs';
import { Kafka, KafkaConfig, logLevel, LogEntry, SASLOptions } from 'kafkajs';
import { brokerList, ConfigOf, kafkaSchema } from './config';
import { ConfigError } from './errors';
import { Logger } from './log';

/** The connection and security part of `kafkaSchema`, as loaded. */
export type KafkaConnection = Pick<
  ConfigOf<typeof kafkaSchema>,
  'brokers' | 'clientId' | 'saslMechanism' | 'saslUsername' | 'saslPassword' | 'ssl' | 'sslCaFile'
>;

/**
 * The TLS and SASL part of the KafkaJS client config. Pure but for reading the CA file
 * (injected, for tests). Settings that each are valid but contradict one another throw one
 * ConfigError naming every key concerned: a user name without a mechanism would otherwise be
 * ignored in silence, and a CA file without TLS would suggest encryption that is not there.
 */
export function kafkaSecurityOptions(
  config: KafkaConnection,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const problems: { key: string; message: string }[] = [];
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (config.saslMechanism === '') {
    for (const [key, value] of [
      ['KAFKA_SASL_USERNAME', config.saslUsername],
      ['KAFKA_SASL_PASSWORD', config.saslPassword],
    ]) {
      if (value !== '') problems.push({ key, message: 'is set but KAFKA_SASL_MECHANISM is empty (no SASL)' });
    }
  } else {
    if (config.saslUsername === '')
      problems.push({ key: 'KAFKA_SASL_USERNAME', message: `is required with KAFKA_SASL_MECHANISM=${config.saslMechanism}` });
    if (config.saslPassword === '')
      problems.push({ key: 'KAFKA_SASL_PASSWORD', message: `is required with KAFKA_SASL_MECHANISM=${config.saslMechanism}` });
    out.sasl = { mechanism: config.saslMechanism, username: config.saslUsername, password: config.saslPassword } as SASLOptions;
  }
  if (config.sslCaFile !== '' && !config.ssl) {
    problems.push({ key: 'KAFKA_SSL_CA_FILE', message: 'is set but KAFKA_SSL is false' });
  } else if (config.sslCaFile !== '') {
    try {
      out.ssl = { ca: [readFile(config.sslCaFile)] };
    } catch (err) {
      problems.push({
        key: 'KAFKA_SSL_CA_FILE',
        message: `cannot read ${config.sslCaFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
    }
  } else if (config.ssl) {
    out.ssl = true; // Node's default CAs, certificates verified
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** KafkaJS logs through the service's pino logger, so one process has one log stream. */
export function createKafka(config: KafkaConnection, logger: Logger, role: string): Kafka {
  const child = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: `${config.clientId}-${role}`,
    brokers: brokerList(config.brokers),
    ...kafkaSecurityOptions(config),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        if (level <= logLevel.ERROR) child.error(extra, message);
        else if (level === logLevel.WARN) child.warn(extra, message);
        else child.debug(extra, message);
      },
    retry: { initialRetryTime: 200, retries: 10 },
  });
}

/**
 * A group consumer's timing. A member silent for the session timeout loses its partitions to
 * the others; heartbeats go three times per timeout, as Kafka recommends. The fetch wait is
 * KafkaJS's maxWaitTimeInMs (5 s by its default): `consumer.disconnect()` waits for the fetch in
 * flight, so it bounds how long a graceful stop takes, and with several brokers it also delays
 * records behind an idle broker's fetch (kafkajs#1365).
 */
export function consumerTimings(config: { sessionTimeoutMs: number; fetchMaxWaitMs: number }): {
  sessionTimeout: number;
  heartbeatInterval: number;
  maxWaitTimeInMs: number;
} {
  return {
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(config.sessionTimeoutMs / 3)),
    maxWaitTimeInMs: config.fetchMaxWaitMs,
  };
}
