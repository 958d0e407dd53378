import type { Alert } from '../schemas';
import { generateFleet } from '../simulator/fleet';
import type { GroundTruthEvent } from '../simulator/ground-truth';
import { resolveConfig } from '../simulator/options';
import { toFleetPlan } from '../simulator/plan';
import { Detector } from './detector';
import { defaultDetectorSettings } from './settings';

/**
 * The defaults against the project's own simulator (Gaussian sensor noise on a daily
 * cycle, readings every 5 s, values rounded as devices send them): false alerts on
 * normal data at most 0.1 per device-hour, and at least 95 % of 5σ spikes caught.
 */
const START = Date.parse('2024-11-28T00:00:00Z');

function simulate(devices: number, hours: number, seed: number, sim: Record<string, unknown>): { alerts: Alert[]; events: GroundTruthEvent[] } {
  const plan = toFleetPlan(
    resolveConfig({ 'fleet.deviceCount': devices, 'fleet.interval': 5, 'fleet.duration': hours * 3600, 'fleet.withSeq': true, ...sim }),
    seed,
    START,
  );
  const events: GroundTruthEvent[] = [];
  const det = new Detector(defaultDetectorSettings());
  const alerts: Alert[] = [];
  let nextTickMs = 0;
  for (const e of generateFleet(plan, (ev) => events.push(ev))) {
    const r = e.reading;
    const reading = { device_id: r.device_id, time: r.timeMs * 1000, firmware: r.firmware, temperature: r.temperature, humidity: r.humidity, battery: r.battery, seq: r.seq, ingested_at: e.emitAtMs };
    alerts.push(...det.onReading(reading, 0));
    if (e.emitAtMs >= nextTickMs) {
      nextTickMs = e.emitAtMs + 5000;
      alerts.push(...det.onTick(det.eventTimeWatermarkUs, true, 0));
    }
  }
  return { alerts, events };
}

describe('detection quality with the default settings on simulated fleets', () => {
  it('normal data: at most 0.1 false alerts per device-hour', () => {
    const devices = 12;
    const hours = 12;
    const { alerts } = simulate(devices, hours, 7, { 'anomalies.rate': 0, 'dropouts.rate': 0 });
    // Low battery is real in a simulated fleet (some devices start low); everything else is false.
    const falseAlerts = alerts.filter((a) => a.kind !== 'low_battery');
    expect(falseAlerts.length / (devices * hours)).toBeLessThanOrEqual(0.1);
  });

  it('5σ spikes: at least 95 % raise an anomaly alert at the spiked reading', () => {
    const { alerts, events } = simulate(20, 10, 11, { 'anomalies.rate': 0.001, 'anomalies.kinds': ['spike'], 'anomalies.spikeSigma': 5, 'dropouts.rate': 0 });
    const spikes = events.filter((e) => e.kind === 'spike');
    expect(spikes.length).toBeGreaterThan(100);
    const hit = new Set(alerts.filter((a) => a.kind === 'anomaly').map((a) => `${a.device_id}|${a.metric}|${a.reading_time}`));
    const found = spikes.filter((e) => hit.has(`${e.device_id}|${e.metric}|${e.start_ms * 1000}`)).length;
    expect(found / spikes.length).toBeGreaterThanOrEqual(0.95);
  });
});
