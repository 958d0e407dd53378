import type { AnomalySettings } from './anomaly';
import { VirtualDevice, type DeviceBehaviour, type Emission } from './device';
import type { FaultSettings } from './faults';
import type { EventSink } from '../schemas/ground-truth';
import { MinHeap } from './heap';
import { createProfile, deviceId } from './profile';

/** Everything the pure model needs: no broker, no clock, no files. */
export interface FleetPlan {
  seed: number;
  deviceCount: number;
  idPrefix: string;
  /** Device time of the first reading, epoch ms. */
  startMs: number;
  /** ms between one device's readings. */
  intervalMs: number;
  /** 1 for ms timestamps, 1000 for whole seconds. */
  precisionMs: number;
  /** Distinct readings per device, 0 for no limit. */
  count: number;
  /** Device time at which the run ends (Infinity: never). */
  endMs: number;
  anomalies: AnomalySettings;
  dropoutRate: number;
  dropoutMeanMs: number;
  faults: FaultSettings;
}

export function createDevices(plan: FleetPlan, sink: EventSink): VirtualDevice[] {
  const behaviour: DeviceBehaviour = {
    anomalies: plan.anomalies,
    dropoutRate: plan.dropoutRate,
    dropoutMeanMs: plan.dropoutMeanMs,
    faults: plan.faults,
  };
  const devices: VirtualDevice[] = [];
  for (let i = 0; i < plan.deviceCount; i++) {
    const profile = createProfile(plan.seed, i, deviceId(plan.idPrefix, i, plan.deviceCount));
    const schedule = {
      startMs: plan.startMs,
      intervalMs: plan.intervalMs,
      // Devices read at evenly spread points of the interval, not all at once.
      offsetMs: (i * plan.intervalMs) / plan.deviceCount,
      precisionMs: plan.precisionMs,
      count: plan.count,
      endMs: plan.endMs,
    };
    devices.push(new VirtualDevice(profile, schedule, behaviour, plan.seed, sink));
  }
  return devices;
}

interface Due {
  at: number;
  tie: number;
  device: number;
  /** A late reading waiting for its send time; null for a device's next slot. */
  emission: Emission | null;
}

/**
 * The whole fleet's readings in send order (device time). Infinite when the plan sets neither
 * count nor end; ground-truth events go to `sink` as they are decided.
 */
export function* generateFleet(plan: FleetPlan, sink: EventSink = () => {}): Generator<Emission, void, undefined> {
  const devices = createDevices(plan, sink);
  const heap = new MinHeap<Due>();
  let tie = 0;
  for (const d of devices) {
    if (!d.done) heap.push({ at: d.nextSlotMs(), tie: tie++, device: d.profile.index, emission: null });
    else d.finish([]);
  }
  const now: Emission[] = [];
  const later: Emission[] = [];
  for (let due = heap.pop(); due; due = heap.pop()) {
    if (due.emission) {
      yield due.emission;
      continue;
    }
    const device = devices[due.device];
    now.length = 0;
    later.length = 0;
    device.step(now, later);
    for (const e of later) heap.push({ at: e.emitAtMs, tie: tie++, device: e.device, emission: e });
    if (device.done) device.finish(now);
    else heap.push({ at: device.nextSlotMs(), tie: tie++, device: due.device, emission: null });
    for (const e of now) yield e;
  }
}
