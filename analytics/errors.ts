import { PipelineError } from '../lib/errors';

/** A query argument (an interval, a threshold, a source) is not acceptable; retrying cannot help. */
export class InvalidArgumentError extends PipelineError {
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`${argument}: ${message}`);
  }
}

/** The database has no pipeline schema (or an older one): `iot-pipeline migrate` has not run there. */
export class SchemaMissingError extends PipelineError {}
