import type { Alert, Reading } from '../schemas';
import { generateFleet } from '../simulator/fleet';
import type { Emission } from '../simulator/device';
import type { GroundTruthEvent } from '../schemas/ground-truth';
import { resolveConfig } from '../simulator/options';
import { toFleetPlan } from '../simulator/plan';
import { Detector } from '../detector/detector';
import { EVALUATION_TICK_MS } from '../detector/recall';
import { defaultDetectorSettings, type DetectorSettings } from '../detector/settings';

/**
 * The detector run over a simulated fleet, generated without a broker, shared by
 * testkit/evaluation.test.ts (which keeps the defaults honest) and bench/detector.ts (which
 * reports the same figures at fleet scale); detector/recall.ts scores what it found.
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
    readings.push({ reading: kafkaReadingOf(e), emitAtMs: e.emitAtMs });
  }
  return { readings, events };
}

/** Feeds the readings to a fresh detector as the service would, ticking every EVALUATION_TICK_MS of send time. */
export function detect(readings: SimulatedFleet['readings'], settings: DetectorSettings = defaultDetectorSettings()): Alert[] {
  const det = new Detector(settings);
  const alerts: Alert[] = [];
  let nextTickMs = 0;
  for (const { reading, emitAtMs } of readings) {
    alerts.push(...det.onReading(reading, 0));
    if (emitAtMs >= nextTickMs) {
      nextTickMs = emitAtMs + EVALUATION_TICK_MS;
      alerts.push(...det.onTick(det.eventTimeWatermarkUs, true, 0));
    }
  }
  return alerts;
}

/** Simulate and detect in one go. */
export function simulate(
  devices: number,
  hours: number,
  seed: number,
  sim: Record<string, unknown>,
): { alerts: Alert[]; events: GroundTruthEvent[] } {
  const { readings, events } = simulateReadings(devices, hours, seed, sim);
  return { alerts: detect(readings), events };
}

/** On normal data every alert but low battery (which is real in a simulated fleet) is false. */
export function falseAlertsPerDeviceHour(alerts: readonly Alert[], devices: number, hours: number): number {
  return alerts.filter((a) => a.kind !== 'low_battery').length / (devices * hours);
}

/** A simulator emission as the bridge would put it on Kafka (time in µs, taken in at emission). */
export function kafkaReadingOf(e: Emission): Reading {
  const r = e.reading;
  return {
    device_id: r.device_id,
    time: r.timeMs * 1000,
    firmware: r.firmware,
    temperature: r.temperature,
    humidity: r.humidity,
    battery: r.battery,
    seq: r.seq,
    ingested_at: e.emitAtMs,
  };
}
