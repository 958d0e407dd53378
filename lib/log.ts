import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Where secrets sit in what services log: a config object logged whole (`logger.info(config)`,
 * two levels: `postgres.password`), under a key (`{ config }`, three levels), or a KafkaJS
 * client config (`sasl.password`; the mechanism and user name stay readable). pino's paths have
 * no recursive wildcard, so each depth is listed.
 */
export const REDACTED_PATHS = ['password', 'saslPassword'].flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

/** One JSON logger per process; LOG_LEVEL picks the level, secrets are redacted by path. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options = { name: service, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
