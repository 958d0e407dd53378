import type { AnomalyKind, Metric } from '../schemas/ground-truth';
import type { Random } from './prng';

export interface AnomalySettings {
  /** Probability per reading that an anomaly starts on a device that has none. */
  rate: number;
  kinds: AnomalyKind[];
  /** Spike size in σ of the device's noise. */
  spikeSigma: number;
  /** Drift offset reached at its last reading, in σ. */
  driftSigma: number;
  /** Readings a stuck sensor or a drift lasts. */
  length: number;
}

/** An anomaly under way on one device's sensor. */
export interface ActiveAnomaly {
  kind: AnomalyKind;
  metric: Metric;
  /** Readings it lasts and readings already distorted. */
  length: number;
  done: number;
  /** Direction of a drift, and a spike's preferred one (it turns where the range has no room). */
  sign: 1 | -1;
  startMs: number;
  startSeq: number;
  /** The value a stuck sensor repeats (set on its first reading). */
  stuckValue: number | null;
  /** Spikes: what was expected and what was reported. */
  expected: number | null;
  value: number | null;
}

const METRICS: readonly Metric[] = ['temperature', 'humidity'];

/** Rolls whether an anomaly starts with this reading; draws from `rng` only when one does. */
export function maybeStartAnomaly(rng: Random, settings: AnomalySettings, startMs: number, startSeq: number): ActiveAnomaly | null {
  if (settings.kinds.length === 0 || !rng.chance(settings.rate)) return null;
  const kind = settings.kinds[rng.int(settings.kinds.length)];
  return {
    kind,
    metric: METRICS[rng.int(METRICS.length)],
    length: kind === 'spike' ? 1 : settings.length,
    done: 0,
    sign: rng.sign(),
    startMs,
    startSeq,
    stuckValue: null,
    expected: null,
    value: null,
  };
}

export interface SensorValue {
  /** What the sensor would report without the anomaly (rounded as reported). */
  clean: number;
  /** The noise-free model value. */
  expected: number;
  sigma: number;
  min: number;
  max: number;
}

/** The value the faulty sensor reports for this reading; records what ground truth needs. */
export function distort(anomaly: ActiveAnomaly, settings: AnomalySettings, sensor: SensorValue): number {
  anomaly.done += 1;
  switch (anomaly.kind) {
    case 'spike': {
      const value = spikeValue(sensor, settings.spikeSigma, anomaly.sign);
      anomaly.expected = sensor.expected;
      anomaly.value = value;
      return value;
    }
    case 'stuck':
      if (anomaly.stuckValue === null) anomaly.stuckValue = sensor.clean;
      return anomaly.stuckValue;
    case 'drift': {
      const offset = (anomaly.sign * settings.driftSigma * sensor.sigma * anomaly.done) / anomaly.length;
      return roundClamp(sensor.clean + offset, sensor.min, sensor.max);
    }
  }
}

/**
 * A spike sits `sigmas` σ from the noise-free value, in the preferred direction when the metric's
 * range has room there (else the other), rounded away from the expected value so the reported
 * deviation is never below the request.
 */
export function spikeValue(sensor: SensorValue, sigmas: number, preferred: 1 | -1): number {
  const size = sigmas * sensor.sigma;
  const up = sensor.expected + size;
  const down = sensor.expected - size;
  const upFits = up <= sensor.max;
  const downFits = down >= sensor.min;
  if (upFits && (preferred === 1 || !downFits)) return Math.min(Math.ceil(up * 100) / 100, sensor.max);
  if (downFits) return Math.max(Math.floor(down * 100) / 100, sensor.min);
  // No room on either side (a huge σ request on a bounded metric): the farther bound.
  return sensor.expected - sensor.min > sensor.max - sensor.expected ? sensor.min : sensor.max;
}

export function isFinished(anomaly: ActiveAnomaly): boolean {
  return anomaly.done >= anomaly.length;
}

function roundClamp(value: number, min: number, max: number): number {
  const r = Math.round(value * 100) / 100;
  return r < min ? min : r > max ? max : r;
}
