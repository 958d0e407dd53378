import type { FleetPlan } from './fleet';
import { effectiveInterval, type SimulatorConfig } from './options';
import { precisionMs } from './payload';

/**
 * Turns validated configuration into the model's plan. Pure: the seed and the current time come
 * in as arguments (a run without `--seed` or `--start` picks them once, at start-up).
 */
export function toFleetPlan(config: SimulatorConfig, seed: number, nowMs: number): FleetPlan {
  const { fleet, anomalies, dropouts, faults } = config;
  const precision = precisionMs(fleet.timestampFormat);
  const startMs = Math.round((fleet.start ? Date.parse(fleet.start) : nowMs) / precision) * precision;
  return {
    seed,
    deviceCount: fleet.deviceCount,
    idPrefix: fleet.idPrefix,
    startMs,
    intervalMs: effectiveInterval(fleet) * 1000,
    precisionMs: precision,
    count: fleet.count,
    endMs: fleet.duration > 0 ? startMs + fleet.duration * 1000 : Infinity,
    anomalies: { ...anomalies },
    dropoutRate: dropouts.rate,
    dropoutMeanMs: dropouts.duration * 1000,
    faults: {
      lateRate: faults.lateRate,
      lateDelayMs: faults.lateDelay * 1000,
      outOfOrderRate: faults.outOfOrderRate,
      duplicateRate: faults.duplicateRate,
      dropRate: faults.dropRate,
    },
  };
}
