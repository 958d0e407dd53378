import { distort, isFinished, maybeStartAnomaly, type ActiveAnomaly, type AnomalySettings } from './anomaly';
import { stepBattery, type BatteryState } from './battery';
import { clamp, expectedHumidity, expectedTemperature, round2 } from './climate';
import { chooseFault, type FaultSettings } from './faults';
import { groundTruthEvent, type EventSink, type Metric } from '../schemas/ground-truth';
import { Random, deriveSeed } from './prng';
import { STREAM, type DeviceProfile } from './profile';

/** One reading as the device measured it; `payload.ts` turns it into the device JSON. */
export interface SimReading {
  device_id: string;
  firmware: string;
  temperature: number;
  humidity: number;
  battery: number;
  /** Device time, epoch ms (already at the precision the device sends). */
  timeMs: number;
  /** Per-device counter, from 1; a dropped reading leaves a gap. */
  seq: number;
}

/** A reading on its way out: when (device time) it is sent, and whether it is a resend. */
export interface Emission {
  device: number;
  reading: SimReading;
  emitAtMs: number;
  duplicate: boolean;
}

export interface DeviceSchedule {
  startMs: number;
  /** ms between a device's readings (may be fractional; timestamps are rounded). */
  intervalMs: number;
  /** Where in the interval this device reads, so a fleet spreads its readings evenly. */
  offsetMs: number;
  /** 1 (ms timestamps) or 1000 (whole seconds). */
  precisionMs: number;
  /** Distinct readings to publish, 0 for no limit. */
  count: number;
  /** No slot at or after this device time (Infinity: no limit). */
  endMs: number;
}

export interface DeviceBehaviour {
  anomalies: AnomalySettings;
  /** Probability per reading slot that the device drops off the network. */
  dropoutRate: number;
  dropoutMeanMs: number;
  faults: FaultSettings;
}

interface Dropout {
  untilMs: number;
  firstMs: number;
  lastMs: number;
  missed: number;
}

/**
 * One virtual device: each `step` is one reading slot. Deterministic for (seed, profile), and
 * each concern draws from its own random stream, so turning on faults or anomalies does not
 * change the noise of the readings around them.
 */
export class VirtualDevice {
  private slot = 0;
  private seq = 0;
  private published = 0;
  private battery: BatteryState;
  private batteryAtMs: number;
  private lastMeasuredMs = 0;
  private anomaly: ActiveAnomaly | null = null;
  private dropout: Dropout | null = null;
  /** A reading held back to be sent after the next one (out-of-order fault). */
  private held: SimReading | null = null;
  private readonly noise: Random;
  private readonly events: Random;
  private readonly faultRng: Random;

  constructor(
    readonly profile: DeviceProfile,
    private readonly schedule: DeviceSchedule,
    private readonly behaviour: DeviceBehaviour,
    seed: number,
    private readonly sink: EventSink,
  ) {
    this.noise = new Random(deriveSeed(seed, profile.index, STREAM.noise));
    this.events = new Random(deriveSeed(seed, profile.index, STREAM.events));
    this.faultRng = new Random(deriveSeed(seed, profile.index, STREAM.faults));
    this.battery = { level: profile.battery.start, charging: false };
    this.batteryAtMs = schedule.startMs;
  }

  /** Device time of the next slot. */
  nextSlotMs(): number {
    return this.slotMs(this.slot);
  }

  get done(): boolean {
    const s = this.schedule;
    return (s.count > 0 && this.published >= s.count) || this.nextSlotMs() >= s.endMs;
  }

  /** Distinct readings sent (or scheduled to be sent late) so far. */
  get publishedReadings(): number {
    return this.published;
  }

  /**
   * Runs the current slot. Readings due now are appended to `now` in send order; late ones go
   * to `later` with their own send time.
   */
  step(now: Emission[], later: Emission[]): void {
    const timeMs = this.nextSlotMs();
    this.slot += 1;
    if (this.offline(timeMs)) return;

    this.seq += 1;
    const reading = this.measure(timeMs);
    const spike = this.anomaly?.kind === 'spike';
    this.closeAnomalyIfFinished();

    const isLast = this.isLastReading();
    const fault = chooseFault(this.faultRng, this.behaviour.faults, {
      canHold: !isLast,
      canDrop: !spike,
      forceNone: this.held !== null,
    });
    const id = this.profile.id;
    const index = this.profile.index;
    switch (fault) {
      case 'dropped':
        this.sink(groundTruthEvent({ device_id: id, kind: 'dropped', start_ms: timeMs, end_ms: timeMs, readings: 1, seq: reading.seq }));
        return;
      case 'out_of_order':
        this.published += 1;
        this.held = reading;
        return;
      case 'late': {
        this.published += 1;
        const delay = this.behaviour.faults.lateDelayMs;
        later.push({ device: index, reading, emitAtMs: timeMs + delay, duplicate: false });
        this.sink(
          groundTruthEvent({
            device_id: id,
            kind: 'late',
            start_ms: timeMs,
            end_ms: timeMs,
            readings: 1,
            seq: reading.seq,
            delay_ms: delay,
          }),
        );
        return;
      }
      default:
        break;
    }
    this.published += 1;
    now.push({ device: index, reading, emitAtMs: timeMs, duplicate: false });
    if (fault === 'duplicate') {
      now.push({ device: index, reading, emitAtMs: timeMs, duplicate: true });
      this.sink(groundTruthEvent({ device_id: id, kind: 'duplicate', start_ms: timeMs, end_ms: timeMs, readings: 1, seq: reading.seq }));
    }
    if (this.held) {
      const h = this.held;
      this.held = null;
      now.push({ device: index, reading: h, emitAtMs: timeMs, duplicate: false });
      this.sink(groundTruthEvent({ device_id: id, kind: 'out_of_order', start_ms: h.timeMs, end_ms: h.timeMs, readings: 1, seq: h.seq }));
    }
  }

  /** At the end of the run: sends what is still held and records events cut short. */
  finish(now: Emission[]): void {
    if (this.held) {
      // No newer reading came after it, so it went out in order after all: no ground-truth entry.
      now.push({ device: this.profile.index, reading: this.held, emitAtMs: this.held.timeMs, duplicate: false });
      this.held = null;
    }
    if (this.dropout) this.closeDropout();
    if (this.anomaly && this.anomaly.done > 0) this.recordAnomaly(this.anomaly);
    this.anomaly = null;
  }

  private slotMs(slot: number): number {
    const s = this.schedule;
    const t = s.startMs + s.offsetMs + slot * s.intervalMs;
    return Math.round(t / s.precisionMs) * s.precisionMs;
  }

  private isLastReading(): boolean {
    const s = this.schedule;
    if (s.count > 0) return this.published + 1 >= s.count;
    return this.nextSlotMs() >= s.endMs;
  }

  /** Whether this slot falls in a dropout (starting one when the dice say so). */
  private offline(timeMs: number): boolean {
    if (this.dropout) {
      if (timeMs < this.dropout.untilMs) {
        this.dropout.lastMs = timeMs;
        this.dropout.missed += 1;
        return true;
      }
      this.closeDropout();
    }
    if (!this.events.chance(this.behaviour.dropoutRate)) return false;
    const lengthMs = Math.max(this.schedule.intervalMs, this.events.exponential(this.behaviour.dropoutMeanMs));
    this.dropout = { untilMs: timeMs + lengthMs, firstMs: timeMs, lastMs: timeMs, missed: 1 };
    return true;
  }

  private closeDropout(): void {
    const d = this.dropout!;
    this.sink(groundTruthEvent({ device_id: this.profile.id, kind: 'dropout', start_ms: d.firstMs, end_ms: d.lastMs, readings: d.missed }));
    this.dropout = null;
  }

  private measure(timeMs: number): SimReading {
    const p = this.profile;
    // Always two draws per reading, whatever else happens, to keep the noise sequence stable.
    const tNoise = this.noise.normal();
    const hNoise = this.noise.normal();
    const tExpected = expectedTemperature(p, timeMs);
    const hExpected = expectedHumidity(p, tExpected);
    let temperature = round2(tExpected + tNoise * p.temperatureSigma);
    let humidity = round2(clamp(hExpected + hNoise * p.humiditySigma, 0, 100));

    this.battery = p.mains ? this.battery : stepBattery(this.battery, p.battery, (timeMs - this.batteryAtMs) / 3_600_000);
    this.batteryAtMs = timeMs;
    this.lastMeasuredMs = timeMs;

    if (!this.anomaly) this.anomaly = maybeStartAnomaly(this.events, this.behaviour.anomalies, timeMs, this.seq);
    if (this.anomaly) {
      const a = this.anomaly;
      if (a.metric === 'temperature') {
        temperature = distort(a, this.behaviour.anomalies, {
          clean: temperature,
          expected: tExpected,
          sigma: p.temperatureSigma,
          min: -Infinity,
          max: Infinity,
        });
      } else {
        humidity = distort(a, this.behaviour.anomalies, {
          clean: humidity,
          expected: hExpected,
          sigma: p.humiditySigma,
          min: 0,
          max: 100,
        });
      }
    }
    return {
      device_id: p.id,
      firmware: p.firmware,
      temperature,
      humidity,
      battery: Math.round(this.battery.level * 10) / 10,
      timeMs,
      seq: this.seq,
    };
  }

  private closeAnomalyIfFinished(): void {
    if (this.anomaly && isFinished(this.anomaly)) {
      this.recordAnomaly(this.anomaly);
      this.anomaly = null;
    }
  }

  /** The anomaly's last reading is the one just measured (or the last before the run ended). */
  private recordAnomaly(a: ActiveAnomaly): void {
    const settings = this.behaviour.anomalies;
    const sigma = sigmaOf(this.profile, a.metric);
    const magnitude =
      a.kind === 'spike' ? Math.abs(a.value! - a.expected!) / sigma : a.kind === 'drift' ? (settings.driftSigma * a.done) / a.length : null;
    this.sink(
      groundTruthEvent({
        device_id: this.profile.id,
        kind: a.kind,
        metric: a.metric,
        start_ms: a.startMs,
        end_ms: this.lastMeasuredMs,
        readings: a.done,
        seq: a.startSeq,
        magnitude_sigma: magnitude,
        sigma,
        expected: a.expected,
        value: a.value,
      }),
    );
  }
}

function sigmaOf(profile: DeviceProfile, metric: Metric): number {
  return metric === 'temperature' ? profile.temperatureSigma : profile.humiditySigma;
}
