import { InvalidArgumentError } from './errors';

/** Signed z-score: how many standard deviations `value` lies above (+) or below (−) `mean`. */
export function zScore(value: number, mean: number, stddev: number): number {
  return (value - mean) / stddev;
}

/** A positive finite number, or a typed error naming the argument. */
export function positive(argument: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(argument, `must be a positive number (got ${String(value)})`);
  }
  return value;
}

/** A positive integer, or a typed error naming the argument. */
export function positiveInt(argument: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(argument, `must be a positive integer (got ${String(value)})`);
  }
  return value;
}
