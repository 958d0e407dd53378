import { BatteryState } from './battery';
import { Cooldown } from './cooldown';
import { SequenceState } from './sequence';
import { SilenceState } from './silence';
import { StuckRun } from './stuck';
import { SlidingWindow } from './window';

/** The metrics scored by z-score, in the order their alerts are listed. */
export const METRICS = ['temperature', 'humidity', 'battery'] as const;
export type MetricName = (typeof METRICS)[number];

/** Everything the detector remembers about one device. */
export class DeviceState {
  /** Event time of the newest accepted reading (µs); -Infinity before the first. */
  lastSeenUs = Number.NEGATIVE_INFINITY;
  /** One window per metric, created on the metric's first value. */
  readonly windows: (SlidingWindow | null)[] = [null, null, null];
  /** Temperature and humidity: the run of identical values ending at the newest reading. */
  readonly stuck = [new StuckRun(), new StuckRun()];
  readonly battery = new BatteryState();
  readonly sequence = new SequenceState();
  readonly silence = new SilenceState();
  readonly cooldown = new Cooldown();
  late = 0;
  duplicates = 0;

  constructor(readonly id: string) {}

  window(metric: number, lengthUs: number, maxSamples: number): SlidingWindow {
    let w = this.windows[metric];
    if (w === null) {
      w = new SlidingWindow(lengthUs, maxSamples);
      this.windows[metric] = w;
    }
    return w;
  }
}

/** Per-device facts for diagnostics and per-device metrics. */
export interface DeviceStats {
  lastSeenUs: number;
  inactive: boolean;
  late: number;
  duplicates: number;
  seqGaps: number;
  seqMissing: number;
  seqRepeats: number;
  seqResets: number;
  windowSamples: Record<MetricName, number>;
}

export function deviceStats(d: DeviceState): DeviceStats {
  return {
    lastSeenUs: d.lastSeenUs,
    inactive: d.silence.inactive,
    late: d.late,
    duplicates: d.duplicates,
    seqGaps: d.sequence.gaps,
    seqMissing: d.sequence.missing,
    seqRepeats: d.sequence.repeats,
    seqResets: d.sequence.resets,
    windowSamples: {
      temperature: d.windows[0]?.count ?? 0,
      humidity: d.windows[1]?.count ?? 0,
      battery: d.windows[2]?.count ?? 0,
    },
  };
}
