import type { Emission } from './device';
import { generateFleet, type FleetPlan } from './fleet';
import type { GroundTruthEvent } from '../schemas/ground-truth';
import { resolveConfig } from './options';
import { toFleetPlan } from './plan';

const START = Date.parse('2024-11-28T00:00:00Z');

function plan(overrides: Record<string, unknown>, seed = 11): FleetPlan {
  return toFleetPlan(
    resolveConfig({
      'anomalies.rate': 0,
      'dropouts.rate': 0,
      'fleet.deviceCount': 6,
      'fleet.interval': 1,
      'fleet.count': 500,
      ...overrides,
    }),
    seed,
    START,
  );
}

function run(p: FleetPlan): { emissions: Emission[]; events: GroundTruthEvent[] } {
  const events: GroundTruthEvent[] = [];
  const emissions = [...generateFleet(p, (e) => events.push(e))];
  return { emissions, events };
}

const of = (emissions: Emission[], device: string) => emissions.filter((e) => e.reading.device_id === device);

describe('delivery faults', () => {
  it('leaves seq gaps exactly where readings were dropped', () => {
    const { emissions, events } = run(plan({ 'faults.dropRate': 0.05 }));
    const dropped = events.filter((e) => e.kind === 'dropped');
    expect(dropped.length).toBeGreaterThan(50);
    for (const id of new Set(emissions.map((e) => e.reading.device_id))) {
      const seqs = of(emissions, id).map((e) => e.reading.seq);
      const gaps: number[] = [];
      for (let i = 1; i < seqs.length; i++) {
        expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
        for (let s = seqs[i - 1] + 1; s < seqs[i]; s++) gaps.push(s);
      }
      expect(gaps).toEqual(dropped.filter((e) => e.device_id === id).map((e) => e.seq));
      expect(seqs).toHaveLength(500);
    }
  });

  it('resends duplicates with the same device and timestamp', () => {
    const { emissions, events } = run(plan({ 'faults.duplicateRate': 0.02 }));
    const dups = events.filter((e) => e.kind === 'duplicate');
    expect(dups.length).toBeGreaterThan(20);
    expect(emissions.filter((e) => e.duplicate)).toHaveLength(dups.length);
    for (const ev of dups) {
      const copies = emissions.filter((e) => e.reading.device_id === ev.device_id && e.reading.timeMs === ev.start_ms);
      expect(copies).toHaveLength(2);
      expect(copies[1].reading).toEqual(copies[0].reading);
      expect(copies.map((c) => c.duplicate)).toEqual([false, true]);
    }
  });

  it('sends an out-of-order reading right after the newer one', () => {
    const { emissions, events } = run(plan({ 'faults.outOfOrderRate': 0.02 }));
    const swaps = events.filter((e) => e.kind === 'out_of_order');
    expect(swaps.length).toBeGreaterThan(20);
    for (const ev of swaps) {
      const list = of(emissions, ev.device_id);
      const i = list.findIndex((e) => e.reading.timeMs === ev.start_ms);
      expect(list[i - 1].reading.timeMs).toBeGreaterThan(ev.start_ms);
      expect(list[i - 1].reading.seq).toBe(ev.seq! + 1);
    }
    // Nothing else is out of order.
    let inversions = 0;
    for (const id of new Set(emissions.map((e) => e.reading.device_id))) {
      const times = of(emissions, id).map((e) => e.reading.timeMs);
      for (let i = 1; i < times.length; i++) if (times[i] < times[i - 1]) inversions += 1;
    }
    expect(inversions).toBe(swaps.length);
  });

  it('sends late readings their delay after their timestamp', () => {
    const { emissions, events } = run(plan({ 'faults.lateRate': 0.02, 'faults.lateDelay': 30 }));
    const late = events.filter((e) => e.kind === 'late');
    expect(late.length).toBeGreaterThan(20);
    for (const ev of late) {
      const i = emissions.findIndex((e) => e.reading.device_id === ev.device_id && e.reading.timeMs === ev.start_ms);
      expect(emissions[i].emitAtMs).toBe(ev.start_ms + 30_000);
      expect(ev.delay_ms).toBe(30_000);
      // Readings taken while it waited went out before it.
      expect(emissions[i - 1].emitAtMs).toBeLessThanOrEqual(emissions[i].emitAtMs);
    }
  });

  it('does not change the values of the readings it delivers', () => {
    const faulty = run(
      plan({ 'faults.dropRate': 0.05, 'faults.duplicateRate': 0.05, 'faults.outOfOrderRate': 0.05, 'faults.lateRate': 0.05 }),
    );
    const clean = run(plan({ 'fleet.count': 700 }));
    const cleanBySeq = new Map(clean.emissions.map((e) => [`${e.reading.device_id}#${e.reading.seq}`, e.reading]));
    for (const { reading } of faulty.emissions) expect(reading).toEqual(cleanBySeq.get(`${reading.device_id}#${reading.seq}`));
  });
});
