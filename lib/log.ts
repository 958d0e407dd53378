import pino from 'pino';

export type Logger = pino.Logger;

/** One JSON logger per process; LOG_LEVEL picks the level, secrets are redacted by path. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: ['*.password', 'password', '*.sasl', 'config.postgres.password'], censor: '[redacted]' },
  });
}
