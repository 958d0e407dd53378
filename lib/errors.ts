/**
 * Typed errors, KafkaJS-style: every error the pipeline raises says whether retrying
 * the same operation can succeed, so loops decide by type and never by message text.
 */
export class PipelineError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value is missing or malformed; names every bad key at once. */
export class ConfigError extends PipelineError {
  readonly keys: string[];
  constructor(problems: { key: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`);
    this.keys = problems.map((p) => p.key);
  }
}

/** A dependency (broker, database, registry) did not answer; the caller may retry. */
export class ConnectionError extends PipelineError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof PipelineError) return err.retriable;
  // KafkaJS errors carry the same flag.
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}
