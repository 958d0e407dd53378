import type { Alert, Reading } from '../schemas';
import { generateFleet } from '../simulator/fleet';
import type { GroundTruthEvent } from '../simulator/ground-truth';
import { resolveConfig } from '../simulator/options';
import { toFleetPlan } from '../simulator/plan';
import { Detector } from '../detector/detector';
import { defaultDetectorSettings, type DetectorSettings } from '../detector/settings';

/**
 * How the detector is scored against the project's simulator, shared by
 * testkit/evaluation.test.ts (which keeps the defaults honest) and bench/detector.ts (which
 * reports the same figures at fleet scale), so both score the same way.
 */

/** Device time of the first simulated reading: fixed, so a seed always gives the same fleet. */
export const EVALUATION_START_MS = Date.parse('2024-11-28T00:00:00Z');

/** Simulator settings for normal data: no anomalies, no dropouts. */
export const NORMAL_DATA: Record<string, unknown> = { 'anomalies.rate': 0, 'dropouts.rate': 0 };
/** Simulator settings for stuck sensors only (rate 0.001 per reading, 30 readings each). */
export const STUCK_SENSORS: Record<string, unknown> = { 'anomalies.rate': 0.001, 'anomalies.kinds': ['stuck'], 'dropouts.rate': 0 };
/** Simulator settings for spike-only anomalies at 5σ (rate 0.001 per reading). */
export const SPIKES_5_SIGMA: Record<string, unknown> = {
  'anomalies.rate': 0.001,
  'anomalies.kinds': ['spike'],
  'anomalies.spikeSigma': 5,
  'dropouts.rate': 0,
};

export interface SimulatedFleet {
  /** Readings as the bridge would produce them, in send order, with their send time. */
  readings: { reading: Reading; emitAtMs: number }[];
  /** Ground truth: every injected anomaly. */
  events: GroundTruthEvent[];
}

/** A seeded fleet of `devices` reading every 5 s for `hours`, generated without a broker. */
export function simulateReadings(devices: number, hours: number, seed: number, sim: Record<string, unknown>): SimulatedFleet {
  const plan = toFleetPlan(
    resolveConfig({ 'fleet.deviceCount': devices, 'fleet.interval': 5, 'fleet.duration': hours * 3600, 'fleet.withSeq': true, ...sim }),
    seed,
    EVALUATION_START_MS,
  );
  const events: GroundTruthEvent[] = [];
  const readings: SimulatedFleet['readings'] = [];
  for (const e of generateFleet(plan, (ev) => events.push(ev))) {
    const r = e.reading;
    readings.push({
      reading: { device_id: r.device_id, time: r.timeMs * 1000, firmware: r.firmware, temperature: r.temperature, humidity: r.humidity, battery: r.battery, seq: r.seq, ingested_at: e.emitAtMs },
      emitAtMs: e.emitAtMs,
    });
  }
  return { readings, events };
}

/** How often, in send time, `detect` ticks the detector for silence (the service's timer). */
const TICK_MS = 5000;

/** Feeds the readings to a fresh detector as the service would, ticking every TICK_MS of send time. */
export function detect(readings: SimulatedFleet['readings'], settings: DetectorSettings = defaultDetectorSettings()): Alert[] {
  const det = new Detector(settings);
  const alerts: Alert[] = [];
  let nextTickMs = 0;
  for (const { reading, emitAtMs } of readings) {
    alerts.push(...det.onReading(reading, 0));
    if (emitAtMs >= nextTickMs) {
      nextTickMs = emitAtMs + TICK_MS;
      alerts.push(...det.onTick(det.eventTimeWatermarkUs, true, 0));
    }
  }
  return alerts;
}

/** Silence after which the settings have judged a device inactive, with the tick of `detect`. */
export function silenceJudgedAfterSeconds(settings: DetectorSettings = defaultDetectorSettings()): number {
  return settings.inactiveAfterSeconds + settings.allowedLatenessSeconds + TICK_MS / 1000;
}

/** Simulate and detect in one go. */
export function simulate(devices: number, hours: number, seed: number, sim: Record<string, unknown>): { alerts: Alert[]; events: GroundTruthEvent[] } {
  const { readings, events } = simulateReadings(devices, hours, seed, sim);
  return { alerts: detect(readings), events };
}

/** On normal data every alert but low battery (which is real in a simulated fleet) is false. */
export function falseAlertsPerDeviceHour(alerts: readonly Alert[], devices: number, hours: number): number {
  return alerts.filter((a) => a.kind !== 'low_battery').length / (devices * hours);
}

export interface KindRecall {
  /** Injected events that a rule is expected to find. */
  events: number;
  found: number;
  recall: number;
}

/**
 * Recall per injected kind on a mixed fleet, each judged by the alert that should tell of it:
 * spikes by an anomaly at the spiked reading; drifts by an anomaly on their metric while they
 * last; stuck sensors by a stuck_sensor alert on their metric while they last; dropouts by a
 * device_inactive alert, counting only those longer than `judgedAfterS` (the silence limit,
 * plus the allowed lateness and a tick before a silence is judged: shorter ones are not meant
 * to alert).
 */
export function recallByKind(
  alerts: readonly Alert[],
  events: readonly GroundTruthEvent[],
  judgedAfterS: number = silenceJudgedAfterSeconds(),
): Record<'spike' | 'drift' | 'stuck' | 'dropout', KindRecall> {
  const found = (e: GroundTruthEvent, kind: Alert['kind'], fromUs: number, toUs: number): boolean =>
    alerts.some((a) => a.kind === kind && a.device_id === e.device_id && a.metric === e.metric && a.reading_time >= fromUs && a.reading_time <= toUs);
  const score = (list: readonly GroundTruthEvent[], hit: (e: GroundTruthEvent) => boolean): KindRecall => {
    const n = list.filter(hit).length;
    return { events: list.length, found: n, recall: list.length === 0 ? Number.NaN : n / list.length };
  };
  const of = (kind: string) => events.filter((e) => e.kind === kind);
  const span = (e: GroundTruthEvent) => [e.start_ms * 1000, e.end_ms * 1000] as const;
  return {
    spike: score(of('spike'), (e) => found(e, 'anomaly', e.start_ms * 1000, e.start_ms * 1000)),
    drift: score(of('drift'), (e) => found(e, 'anomaly', ...span(e))),
    stuck: score(of('stuck'), (e) => found(e, 'stuck_sensor', ...span(e))),
    // The inactive alert names the last reading before the silence, just before its first missed slot.
    dropout: score(
      of('dropout').filter((e) => e.end_ms - e.start_ms > judgedAfterS * 1000),
      (e) => found(e, 'device_inactive', e.start_ms * 1000 - judgedAfterS * 1_000_000, e.start_ms * 1000),
    ),
  };
}
