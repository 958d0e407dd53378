import { expectedHumidity, expectedTemperature } from './climate';
import type { Emission } from './device';
import { generateFleet, type FleetPlan } from './fleet';
import type { GroundTruthEvent } from '../schemas/ground-truth';
import { resolveConfig } from './options';
import { toFleetPlan } from './plan';
import { createProfile } from './profile';

const START = Date.parse('2024-11-28T00:00:00Z');

function plan(overrides: Record<string, unknown>, seed = 7): FleetPlan {
  return toFleetPlan(resolveConfig({ 'anomalies.rate': 0, 'dropouts.rate': 0, ...overrides }), seed, START);
}

function run(p: FleetPlan): { emissions: Emission[]; events: GroundTruthEvent[] } {
  const events: GroundTruthEvent[] = [];
  const emissions = [...generateFleet(p, (e) => events.push(e))];
  return { emissions, events };
}

const key = (device: string, timeMs: number) => `${device}@${timeMs}`;

/**
 * Each concern draws from its own random stream, so the same seed without anomalies gives the
 * clean values of the very same readings: whatever differs must be covered by ground truth.
 */
describe('injected anomalies and their ground truth', () => {
  const fleet = { 'fleet.deviceCount': 10, 'fleet.interval': 60, 'fleet.count': 500 };
  const anomalous = run(plan({ ...fleet, 'anomalies.rate': 0.01, 'anomalies.spikeSigma': 7, 'anomalies.length': 12 }));
  const clean = run(plan(fleet));
  const cleanBy = new Map(clean.emissions.map((e) => [key(e.reading.device_id, e.reading.timeMs), e.reading]));
  const readingsOf = (device: string, from: number, to: number) =>
    anomalous.emissions
      .filter((e) => e.reading.device_id === device && e.reading.timeMs >= from && e.reading.timeMs <= to)
      .map((e) => e.reading);

  it('injects every kind, on both metrics', () => {
    const kinds = new Set(anomalous.events.map((e) => `${e.kind}/${e.metric}`));
    for (const k of ['spike', 'stuck', 'drift']) for (const m of ['temperature', 'humidity']) expect(kinds).toContain(`${k}/${m}`);
    expect(clean.events).toEqual([]);
  });

  it('changes only readings that ground truth covers', () => {
    const covered = new Set<string>();
    for (const ev of anomalous.events)
      for (const r of readingsOf(ev.device_id, ev.start_ms, ev.end_ms)) covered.add(key(r.device_id, r.timeMs));
    for (const { reading } of anomalous.emissions) {
      const c = cleanBy.get(key(reading.device_id, reading.timeMs))!;
      if (reading.temperature !== c.temperature || reading.humidity !== c.humidity) {
        expect(covered).toContain(key(reading.device_id, reading.timeMs));
      }
      expect(reading.battery).toBe(c.battery);
    }
  });

  it('makes spikes of at least the requested σ from the noise-free value', () => {
    const spikes = anomalous.events.filter((e) => e.kind === 'spike');
    expect(spikes.length).toBeGreaterThan(5);
    for (const ev of spikes) {
      const [reading] = readingsOf(ev.device_id, ev.start_ms, ev.end_ms);
      const profile = createProfile(7, Number(ev.device_id.slice(-3)) - 1, ev.device_id);
      const tExpected = expectedTemperature(profile, reading.timeMs);
      const expected = ev.metric === 'temperature' ? tExpected : expectedHumidity(profile, tExpected);
      const sigma = ev.metric === 'temperature' ? profile.temperatureSigma : profile.humiditySigma;
      const value = ev.metric === 'temperature' ? reading.temperature : reading.humidity;
      expect(ev.readings).toBe(1);
      expect(ev.value).toBe(value);
      expect(ev.sigma).toBe(sigma);
      expect(ev.expected).toBeCloseTo(expected, 9);
      expect(Math.abs(value - expected) / sigma).toBeGreaterThanOrEqual(7);
      expect(ev.magnitude_sigma).toBeGreaterThanOrEqual(7);
    }
  });

  it('repeats one value while a sensor is stuck', () => {
    const stuck = anomalous.events.filter((e) => e.kind === 'stuck');
    expect(stuck.length).toBeGreaterThan(2);
    for (const ev of stuck) {
      const readings = readingsOf(ev.device_id, ev.start_ms, ev.end_ms);
      expect(readings).toHaveLength(ev.readings);
      const values = readings.map((r) => (ev.metric === 'temperature' ? r.temperature : r.humidity));
      expect(new Set(values).size).toBe(1);
    }
  });

  it('ramps a drift away from the clean value up to the requested σ', () => {
    const drifts = anomalous.events.filter((e) => e.kind === 'drift');
    expect(drifts.length).toBeGreaterThan(2);
    for (const ev of drifts) {
      const readings = readingsOf(ev.device_id, ev.start_ms, ev.end_ms);
      expect(readings).toHaveLength(ev.readings);
      const offsets = readings.map((r) => {
        const c = cleanBy.get(key(r.device_id, r.timeMs))!;
        return ev.metric === 'temperature' ? r.temperature - c.temperature : r.humidity - c.humidity;
      });
      const last = Math.abs(offsets[offsets.length - 1]) / ev.sigma!;
      if (ev.metric === 'temperature') expect(last).toBeCloseTo(8 * (ev.readings / 12), 0);
      // Slow: each step moves at most a few hundredths of σ more than the ramp's own step.
      for (let i = 1; i < offsets.length; i++) {
        expect(Math.abs(offsets[i] - offsets[i - 1])).toBeLessThanOrEqual((8 / 12) * ev.sigma! + 0.02);
      }
      expect(ev.magnitude_sigma).toBeCloseTo((8 * ev.readings) / 12, 9);
    }
  });

  it('writes every field on every line', () => {
    for (const ev of anomalous.events) {
      expect(Object.keys(ev)).toEqual([
        'device_id',
        'kind',
        'metric',
        'start',
        'end',
        'start_ms',
        'end_ms',
        'readings',
        'seq',
        'magnitude_sigma',
        'sigma',
        'expected',
        'value',
        'delay_ms',
      ]);
      expect(Date.parse(ev.start)).toBe(ev.start_ms);
    }
  });
});

describe('dropouts', () => {
  it('silences a device for the span ground truth gives, then it comes back', () => {
    const p = plan({ 'fleet.deviceCount': 5, 'fleet.interval': 10, 'fleet.count': 400, 'dropouts.rate': 0.01, 'dropouts.duration': 120 });
    const { emissions, events } = run(p);
    const dropouts = events.filter((e) => e.kind === 'dropout');
    expect(dropouts.length).toBeGreaterThan(3);
    for (const ev of dropouts) {
      const times = emissions.filter((e) => e.reading.device_id === ev.device_id).map((e) => e.reading.timeMs);
      expect(times.filter((t) => t >= ev.start_ms && t <= ev.end_ms)).toEqual([]);
      const before = Math.max(...times.filter((t) => t < ev.start_ms), -Infinity);
      const after = Math.min(...times.filter((t) => t > ev.end_ms));
      expect(after - before).toBe((ev.readings + 1) * 10_000);
      expect(ev.seq).toBeNull();
    }
  });
});
