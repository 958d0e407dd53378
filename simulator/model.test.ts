import fc from 'fast-check';
import { expectedTemperature } from './climate';
import type { Emission } from './device';
import { generateFleet, type FleetPlan } from './fleet';
import type { GroundTruthEvent } from '../schemas/ground-truth';
import { resolveConfig } from './options';
import { toFleetPlan } from './plan';
import { FIRMWARE_VERSIONS, createProfile } from './profile';

const START = Date.parse('2024-11-28T00:00:00Z');

/** A plan from flag-like overrides; anomalies and dropouts off unless a test turns them on. */
function plan(overrides: Record<string, unknown>, seed = 42): FleetPlan {
  return toFleetPlan(resolveConfig({ 'anomalies.rate': 0, 'dropouts.rate': 0, ...overrides }), seed, START);
}

function run(p: FleetPlan): { emissions: Emission[]; events: GroundTruthEvent[] } {
  const events: GroundTruthEvent[] = [];
  const emissions = [...generateFleet(p, (e) => events.push(e))];
  return { emissions, events };
}

function byDevice(emissions: Emission[]): Map<string, Emission[]> {
  const map = new Map<string, Emission[]>();
  for (const e of emissions) {
    const list = map.get(e.reading.device_id) ?? [];
    list.push(e);
    map.set(e.reading.device_id, list);
  }
  return map;
}

function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const everything = {
  'anomalies.rate': 0.01,
  'dropouts.rate': 0.005,
  'dropouts.duration': 30,
  'faults.lateRate': 0.01,
  'faults.outOfOrderRate': 0.01,
  'faults.duplicateRate': 0.01,
  'faults.dropRate': 0.01,
};

describe('fleet model', () => {
  it('is deterministic for a seed', () => {
    const p = plan({ 'fleet.deviceCount': 8, 'fleet.count': 300, ...everything });
    const a = run(p);
    const b = run(p);
    expect(b.emissions).toEqual(a.emissions);
    expect(b.events).toEqual(a.events);
    expect(a.events.length).toBeGreaterThan(10);
    const other = run(plan({ 'fleet.deviceCount': 8, 'fleet.count': 300, ...everything }, 43));
    expect(other.emissions).not.toEqual(a.emissions);
  });

  it('publishes exactly --count readings per device (20 devices × 200 readings), faults and all', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 20, 'fleet.count': 200, ...everything }));
    const devices = byDevice(emissions);
    expect(devices.size).toBe(20);
    for (const list of devices.values()) {
      const distinct = new Set(list.filter((e) => !e.duplicate).map((e) => e.reading.timeMs));
      expect(distinct.size).toBe(200);
      expect(list.filter((e) => !e.duplicate)).toHaveLength(200);
    }
  });

  it('publishes exactly --count readings per device for any fleet size and fault rates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (deviceCount, count, rate, seed) => {
          const p = plan(
            {
              'fleet.deviceCount': deviceCount,
              'fleet.count': count,
              'anomalies.rate': rate,
              'dropouts.rate': rate,
              'faults.dropRate': rate,
              'faults.duplicateRate': rate,
              'faults.outOfOrderRate': rate,
              'faults.lateRate': rate,
            },
            seed,
          );
          const devices = byDevice(run(p).emissions);
          expect(devices.size).toBe(deviceCount);
          for (const list of devices.values()) expect(list.filter((e) => !e.duplicate)).toHaveLength(count);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stops at --duration of device time, each device reading once per interval', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 4, 'fleet.interval': 2, 'fleet.duration': 60 }));
    expect(emissions).toHaveLength(4 * 30);
    for (const e of emissions) {
      expect(e.reading.timeMs).toBeGreaterThanOrEqual(START);
      expect(e.reading.timeMs).toBeLessThan(START + 60_000);
    }
    for (const list of byDevice(emissions).values()) {
      const times = list.map((e) => e.reading.timeMs);
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(2000);
    }
  });

  it('spreads the fleet evenly over the interval and sends in device-time order', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 10, 'fleet.interval': 5, 'fleet.count': 3 }));
    const first = emissions.slice(0, 10).map((e) => e.reading.timeMs - START);
    expect(first).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500]);
    for (let i = 1; i < emissions.length; i++) expect(emissions[i].emitAtMs).toBeGreaterThanOrEqual(emissions[i - 1].emitAtMs);
  });

  it('derives the interval from --rate', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 20, 'fleet.rate': 200, 'fleet.duration': 1 }));
    expect(emissions).toHaveLength(200);
    const times = emissions.map((e) => e.reading.timeMs - START);
    expect(times.slice(0, 3)).toEqual([0, 5, 10]);
  });

  it('keeps millisecond timestamps, or whole seconds with --timestamp-format s', () => {
    const ms = run(plan({ 'fleet.deviceCount': 3, 'fleet.interval': 1.5, 'fleet.count': 5 })).emissions;
    expect(ms.some((e) => e.reading.timeMs % 1000 !== 0)).toBe(true);
    const s = run(plan({ 'fleet.deviceCount': 3, 'fleet.interval': 1.5, 'fleet.count': 5, 'fleet.timestampFormat': 's' })).emissions;
    expect(s.every((e) => e.reading.timeMs % 1000 === 0)).toBe(true);
    for (const list of byDevice(s).values()) expect(new Set(list.map((e) => e.reading.timeMs)).size).toBe(list.length);
  });

  it('produces readings in range: firmware from the set, humidity and battery 0..100', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 50, 'fleet.interval': 600, 'fleet.duration': 86_400 }));
    const firmware = new Set(emissions.map((e) => e.reading.firmware));
    const range = (pick: (e: Emission) => number) => {
      const values = emissions.map(pick);
      return [Math.min(...values), Math.max(...values)];
    };
    const [hMin, hMax] = range((e) => e.reading.humidity);
    const [bMin, bMax] = range((e) => e.reading.battery);
    const [tMin, tMax] = range((e) => e.reading.temperature);
    expect(hMin).toBeGreaterThanOrEqual(0);
    expect(hMax).toBeLessThanOrEqual(100);
    expect(bMin).toBeGreaterThanOrEqual(0);
    expect(bMax).toBeLessThanOrEqual(100);
    expect(tMin).toBeGreaterThan(0);
    expect(tMax).toBeLessThan(45);
    expect(emissions.every((e) => /^device-\d{3}$/.test(e.reading.device_id))).toBe(true);
    expect([...firmware].sort()).toEqual([...FIRMWARE_VERSIONS].sort());
  });

  it("follows a 24 h temperature cycle peaking at the device's own hour", () => {
    const p = plan({ 'fleet.deviceCount': 6, 'fleet.interval': 300, 'fleet.duration': 2 * 86_400 });
    const { emissions } = run(p);
    for (const [id, list] of byDevice(emissions)) {
      const index = Number(id.slice(-3)) - 1;
      const profile = createProfile(p.seed, index, id);
      const temps = list.map((e) => e.reading.temperature);
      const model = list.map((e) => expectedTemperature(profile, e.reading.timeMs));
      expect(pearson(temps, model)).toBeGreaterThan(0.9);
      // The warmest reading falls within two hours of the profile's peak hour.
      const warmest = list[temps.indexOf(Math.max(...temps))].reading.timeMs;
      const hour = (warmest / 3_600_000) % 24;
      const distance = Math.min(Math.abs(hour - profile.peakHour), 24 - Math.abs(hour - profile.peakHour));
      expect(distance).toBeLessThan(2);
    }
  });

  it('moves humidity against temperature', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 10, 'fleet.interval': 300, 'fleet.duration': 86_400 }));
    for (const list of byDevice(emissions).values()) {
      const r = pearson(
        list.map((e) => e.reading.temperature),
        list.map((e) => e.reading.humidity),
      );
      expect(r).toBeLessThan(-0.5);
    }
  });

  it('drains batteries slowly, except on mains power', () => {
    const p = plan({ 'fleet.deviceCount': 30, 'fleet.interval': 60, 'fleet.duration': 3600 });
    for (const [id, list] of byDevice(run(p).emissions)) {
      const profile = createProfile(p.seed, Number(id.slice(-3)) - 1, id);
      const levels = list.map((e) => e.reading.battery);
      if (profile.mains) {
        expect(new Set(levels)).toEqual(new Set([100]));
      } else if (profile.battery.start > profile.battery.rechargeAt + 2) {
        expect(levels[levels.length - 1]).toBeLessThan(levels[0]);
        expect(levels[0] - levels[levels.length - 1]).toBeLessThan(2);
      }
    }
  });

  it('counts seq from 1 without gaps when nothing is dropped', () => {
    const { emissions } = run(plan({ 'fleet.deviceCount': 5, 'fleet.count': 50, 'dropouts.rate': 0.05 }));
    for (const list of byDevice(emissions).values()) {
      expect(list.map((e) => e.reading.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }
  });
});
