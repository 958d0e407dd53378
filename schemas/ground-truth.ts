/**
 * Ground truth: every anomaly, dropout and delivery fault the simulator injected, one JSON object
 * per line, so detector tests and benchmarks can score what was found against what was there.
 */
export type AnomalyKind = 'spike' | 'stuck' | 'drift';
export type FaultKind = 'late' | 'out_of_order' | 'duplicate' | 'dropped';
export type EventKind = AnomalyKind | FaultKind | 'dropout';
export type Metric = 'temperature' | 'humidity';

export interface GroundTruthEvent {
  device_id: string;
  kind: EventKind;
  /** The sensor affected (anomalies); null for dropouts and delivery faults. */
  metric: Metric | null;
  /** Device time of the first and last affected reading (slot, for dropouts), ISO 8601. */
  start: string;
  end: string;
  /** The same instants in epoch milliseconds, at the precision the device sent. */
  start_ms: number;
  end_ms: number;
  /** Readings affected (for a dropout: reading slots missed). */
  readings: number;
  /** seq of the first affected reading; null for dropouts (a device that is off counts nothing). */
  seq: number | null;
  /** Size in σ of the device's normal noise: spike deviation, drift at its end; null otherwise. */
  magnitude_sigma: number | null;
  /** The device's noise σ for the metric. */
  sigma: number | null;
  /** Spikes: the noise-free value and the value reported. */
  expected: number | null;
  value: number | null;
  /** Late readings: how long after its timestamp the reading was sent. */
  delay_ms: number | null;
}

export type EventSink = (event: GroundTruthEvent) => void;

type EventFacts = Pick<GroundTruthEvent, 'device_id' | 'kind' | 'start_ms' | 'end_ms' | 'readings'> &
  Partial<Pick<GroundTruthEvent, 'metric' | 'seq' | 'magnitude_sigma' | 'sigma' | 'expected' | 'value' | 'delay_ms'>>;

/** Builds an event with every field present (null where it does not apply), so every line has one shape. */
export function groundTruthEvent(facts: EventFacts): GroundTruthEvent {
  return {
    device_id: facts.device_id,
    kind: facts.kind,
    metric: facts.metric ?? null,
    start: new Date(facts.start_ms).toISOString(),
    end: new Date(facts.end_ms).toISOString(),
    start_ms: facts.start_ms,
    end_ms: facts.end_ms,
    readings: facts.readings,
    seq: facts.seq ?? null,
    magnitude_sigma: facts.magnitude_sigma ?? null,
    sigma: facts.sigma ?? null,
    expected: facts.expected ?? null,
    value: facts.value ?? null,
    delay_ms: facts.delay_ms ?? null,
  };
}

export function toJsonLine(event: GroundTruthEvent): string {
  return `${JSON.stringify(event)}\n`;
}
