import type { Alert, Reading } from '../schemas';
import { ConfigError } from '../lib/errors';
import { alertId, draftAlert, finishAlert, type AlertDraft } from './alert';
import { observeBattery, type BatteryRule } from './battery';
import { CooldownSlot } from './cooldown';
import { DeviceState, METRICS, deviceStats, type DeviceStats } from './device';
import { newDetectorMetrics, type DetectorMetrics } from './metrics';
import { SequenceOutcome, observeSequence } from './sequence';
import { checkDetectorSettings, type DetectorSettings } from './settings';
import { silenceLimitUs, type SilenceRule } from './silence';
import { observeStuck, type StuckRule } from './stuck';
import { REBUILDS_PER_WINDOW } from './window';
import { observeMetric, scoreLate, type Score, type ZScoreRule } from './zscore';

/** 'replay': build state from history, emit nothing (see README, "Restarts and replay"). */
export type ReadingMode = 'live' | 'replay';

const US_PER_S = 1_000_000;
/** Metrics the stuck-sensor rule watches: the first two of METRICS (temperature, humidity). */
const STUCK_METRICS = 2;
/** Returned when there is nothing to say: the common case allocates no array. */
const NO_ALERTS: readonly Alert[] = Object.freeze([] as Alert[]);

/**
 * Streaming detector over one consumer's readings. Pure logic: the service feeds it
 * readings in partition order and ticks from a timer, and produces what it returns.
 *
 * Per reading the work is O(1) amortised (one map lookup, three window updates) and
 * allocates nothing unless an alert is raised. `onTick` walks the devices once.
 */
export class Detector {
  readonly metrics: DetectorMetrics = newDetectorMetrics();
  /** Event time the replay before going live must reach back (µs); see README. */
  readonly replayHorizonUs: number;

  private readonly devices = new Map<string, DeviceState>();
  /** Ids of alerts emitted recently (by this detector or, after a restart, remembered) → relevant until (µs). */
  private readonly recentIds = new Map<string, number>();
  /** Silence episodes remembered for devices the replay did not show (see rememberAlert). */
  private readonly rememberedSilence = new Map<string, { sinceUs: number; recoveredUs: number }>();
  private newestUs = Number.NEGATIVE_INFINITY;
  private readonly score: Score = { z: 0, value: 0, stddev: 0, samples: 0 };
  private readonly scratch: Score = { z: 0, value: 0, stddev: 0, samples: 0 };

  private readonly windowUs: number;
  private readonly maxWindowSamples: number;
  private readonly zRules: readonly ZScoreRule[];
  private readonly batteryRule: BatteryRule;
  private readonly stuckRule: StuckRule;
  private readonly silenceRule: SilenceRule;
  private readonly cooldownUs: number;
  private readonly memoryUs: number;
  private readonly maxFutureUs: number;
  private readonly allowedLatenessUs: number;
  private readonly ttlUs: number;
  private readonly scoreLateReadings: boolean;

  constructor(readonly settings: DetectorSettings) {
    const problems = checkDetectorSettings(settings);
    if (problems.length > 0) throw new ConfigError(problems);
    const s = settings;
    this.windowUs = s.windowSeconds * US_PER_S;
    this.maxWindowSamples = s.maxWindowSamples;
    const rule = (minStddev: number): ZScoreRule => ({ zThreshold: s.zThreshold, minSamples: s.minSamples, minStddev });
    // Same order as METRICS.
    this.zRules = [rule(s.minStddevTemperature), rule(s.minStddevHumidity), rule(s.minStddevBattery)];
    this.cooldownUs = s.cooldownSeconds * US_PER_S;
    this.memoryUs = s.memorySeconds * US_PER_S;
    this.stuckRule = { readings: s.stuckReadings, maxSpanUs: this.windowUs };
    this.batteryRule = { threshold: s.lowBatteryThreshold, hysteresis: s.lowBatteryHysteresis, memoryUs: this.memoryUs };
    this.silenceRule = {
      afterUs: s.inactiveAfterSeconds * US_PER_S,
      intervalMultiple: s.inactiveIntervalMultiple,
      maxUs: s.inactiveMaxSeconds * US_PER_S,
    };
    this.maxFutureUs = s.maxFutureSeconds * US_PER_S;
    this.allowedLatenessUs = s.allowedLatenessSeconds * US_PER_S;
    this.ttlUs = s.deviceTtlSeconds * US_PER_S;
    this.scoreLateReadings = s.latePolicy === 'score';
    // How far back a restarted detector must replay to decide exactly as this one would:
    // a decision at time t looks back one cool-down (to earlier candidates); a candidate
    // two windows (baseline membership) plus the slot since the sums were last recomputed
    // (window.ts), or the memory (battery, sequence); a silence judged later needs the
    // device's last reading and the intervals before it, at most two silence limits back.
    const silenceUs = 2 * Math.max(this.silenceRule.afterUs, this.silenceRule.maxUs);
    const windowsUs = 2 * this.windowUs + this.windowUs / REBUILDS_PER_WINDOW;
    this.replayHorizonUs = this.cooldownUs + Math.max(windowsUs, this.memoryUs, silenceUs);
  }

  /** Newest event time accepted so far (µs), -Infinity before the first reading. */
  get maxEventTimeUs(): number {
    return this.newestUs;
  }

  /** The event-time watermark to pass to `onTick` when nothing better is known. */
  get eventTimeWatermarkUs(): number {
    return this.newestUs - this.allowedLatenessUs;
  }

  get deviceCount(): number {
    return this.devices.size;
  }

  deviceStats(deviceId: string): DeviceStats | undefined {
    const d = this.devices.get(deviceId);
    return d === undefined ? undefined : deviceStats(d);
  }

  /**
   * Feeds one reading; returns the alerts it raises (usually none). In 'replay' mode the
   * state is built exactly as live but nothing is emitted.
   */
  onReading(reading: Reading, nowMs?: number, mode: ReadingMode = 'live'): readonly Alert[] {
    const t = reading.time;
    if (!Number.isFinite(t)) {
      this.metrics.invalidReadings++;
      return NO_ALERTS;
    }
    // A clock far ahead would poison the device's "newest" time and make every later
    // reading look late; the bridge's receive time is the honest reference.
    if (t > reading.ingested_at * 1000 + this.maxFutureUs) {
      this.metrics.futureRejected++;
      return NO_ALERTS;
    }
    let device = this.devices.get(reading.device_id);
    if (device === undefined) {
      device = new DeviceState(reading.device_id);
      this.devices.set(reading.device_id, device);
    }
    if (t <= device.lastSeenUs) return this.onOutOfOrder(device, reading, nowMs, mode);

    this.metrics.readingsAccepted++;
    if (t > this.newestUs) this.newestUs = t;
    if (this.rememberedSilence.size > 0) this.takeRememberedSilence(device, t);
    let drafts: AlertDraft[] | null = null;

    const prevUs = device.lastSeenUs;
    if (device.silence.inactive) {
      device.silence.inactive = false;
      drafts = [draftAlert(device.id, 'device_recovered', t, { value: (t - prevUs) / US_PER_S }, { silent_since_us: prevUs })];
    }
    if (prevUs !== Number.NEGATIVE_INFINITY) device.silence.recordInterval(prevUs, t);
    device.lastSeenUs = t;

    drafts = this.observeValue(device, 0, reading.temperature, t, drafts);
    drafts = this.observeValue(device, 1, reading.humidity, t, drafts);
    drafts = this.observeValue(device, 2, reading.battery, t, drafts);

    const level = reading.battery;
    if (level !== null && Number.isFinite(level) && observeBattery(device.battery, t, level, this.batteryRule)) {
      if (this.admit(device, CooldownSlot.LowBattery, t)) {
        const r = this.batteryRule;
        (drafts ??= []).push(
          draftAlert(
            device.id,
            'low_battery',
            t,
            { metric: 'battery', value: level, threshold: r.threshold },
            {
              rearm_above: r.threshold + r.hysteresis,
            },
          ),
        );
      }
    }

    const seq = reading.seq;
    if (seq !== null && Number.isFinite(seq)) drafts = this.observeSeq(device, seq, t, drafts);

    return drafts === null ? NO_ALERTS : this.emit(drafts, nowMs, mode);
  }

  /**
   * Silence checks. `eventTimeWatermarkUs`: event time up to which the caller believes
   * it has seen every reading (normally `eventTimeWatermarkUs`). `caughtUp`: the
   * consumer's lag is small. While not caught up nothing is judged, so a backlog
   * never reads as a silent fleet; silence that really happened is reported on the
   * first caught-up tick. Also forgets devices silent longer than the TTL.
   */
  onTick(eventTimeWatermarkUs: number, caughtUp: boolean, nowMs?: number): readonly Alert[] {
    if (!caughtUp) {
      this.metrics.silenceChecksHeld++;
      return NO_ALERTS;
    }
    const w = eventTimeWatermarkUs;
    let drafts: AlertDraft[] | null = null;
    for (const device of this.devices.values()) {
      const silentUs = w - device.lastSeenUs;
      if (silentUs > this.ttlUs) {
        this.devices.delete(device.id);
        this.metrics.devicesForgotten++;
        continue;
      }
      if (device.silence.inactive || silentUs <= this.silenceRule.afterUs) continue;
      if (this.rememberedSilence.size > 0 && this.rememberedSilence.has(device.id)) continue;
      const limitUs = silenceLimitUs(device.silence, device.lastSeenUs, this.silenceRule);
      if (silentUs <= limitUs) continue;
      device.silence.inactive = true;
      const median = device.silence.medianIntervalUs(device.lastSeenUs - this.silenceRule.maxUs);
      (drafts ??= []).push(
        draftAlert(
          device.id,
          'device_inactive',
          device.lastSeenUs,
          { threshold: limitUs / US_PER_S },
          {
            last_seen_us: device.lastSeenUs,
            silence_limit_s: limitUs / US_PER_S,
            median_interval_s: Number.isNaN(median) ? null : median / US_PER_S,
          },
        ),
      );
    }
    this.prune(w);
    if (drafts === null) return NO_ALERTS;
    // Device order in the map depends on history (a restarted detector meets devices in
    // another order); sorting makes the output a function of the stream alone.
    drafts.sort((a, b) => (a.device_id < b.device_id ? -1 : a.device_id > b.device_id ? 1 : 0));
    return this.emit(drafts, nowMs, 'live');
  }

  /**
   * After a restart, between the replay and the first live reading: tells the detector
   * an alert the group already emitted (read back from the alerts topic, in order). Its
   * id is not emitted again, and a device_inactive episode it opened stays open, so the
   * device gets its device_recovered and no second device_inactive.
   *
   * The alert's triggering reading may lie in the replayed history, before it (the
   * device has been silent longer than the replay reaches), or after the replay
   * boundary (emitted before the crash but not yet committed; it will be processed
   * again live and its alert recognised by id).
   */
  rememberAlert(alert: Alert): void {
    this.recentIds.set(alert.alert_id, relevantUntil(alert));
    if (alert.kind === 'device_inactive') {
      const device = this.devices.get(alert.device_id);
      if (device !== undefined && device.lastSeenUs === alert.reading_time) {
        // Replayed up to the last reading before the silence: the episode is open.
        device.silence.inactive = true;
      } else if (device === undefined || device.lastSeenUs < alert.reading_time) {
        // Either silent since before the replay reached (at most a stray late reading
        // replayed), or its last reading is still to come: the device's next reading
        // tells which (takeRememberedSilence). Until then ticks leave it alone.
        this.rememberedSilence.set(alert.device_id, { sinceUs: alert.reading_time, recoveredUs: Number.NaN });
      }
      // lastSeen > reading_time: the device spoke again within the replay; episode closed.
    } else if (alert.kind === 'device_recovered') {
      const remembered = this.rememberedSilence.get(alert.device_id);
      if (remembered !== undefined) remembered.recoveredUs = alert.reading_time;
    }
  }

  /**
   * A device with a remembered silence episode speaks: if this reading is newer than the
   * episode's last reading (and not newer than a recovery already emitted), the device
   * has been silent since before the replay and this is its recovery. Older readings
   * mean the episode's own reading is still to come, and the tick after it finds the
   * silence again (its alert recognised by id).
   */
  private takeRememberedSilence(device: DeviceState, t: number): void {
    const episode = this.rememberedSilence.get(device.id);
    if (episode === undefined) return;
    this.rememberedSilence.delete(device.id);
    if (t > episode.sinceUs && !(t > episode.recoveredUs) && device.lastSeenUs < episode.sinceUs) {
      device.lastSeenUs = episode.sinceUs;
      device.silence.inactive = true;
    }
  }

  private onOutOfOrder(device: DeviceState, reading: Reading, nowMs: number | undefined, mode: ReadingMode): readonly Alert[] {
    if (reading.time === device.lastSeenUs) {
      // Same identity as the newest reading: a redelivery. The first one counts.
      this.metrics.duplicates++;
      device.duplicates++;
      if (reading.seq !== null && reading.seq === device.sequence.lastSeq) {
        device.sequence.repeats++;
        this.metrics.seqRepeats++;
      }
      return NO_ALERTS;
    }
    this.metrics.lateReadings++;
    device.late++;
    if (!this.scoreLateReadings) return NO_ALERTS;
    // Policy "score": judged against the window as it stands, never added to it, and
    // no other rule sees it (battery, sequence and silence state move forward only).
    let drafts: AlertDraft[] | null = null;
    const values = [reading.temperature, reading.humidity, reading.battery];
    for (let m = 0; m < 3; m++) {
      const v = values[m];
      const w = device.windows[m];
      if (v === null || w === null || !Number.isFinite(v)) continue;
      if (scoreLate(w, device.lastSeenUs, reading.time, v, this.zRules[m], this.score) && this.admit(device, m, reading.time)) {
        (drafts ??= []).push(this.anomalyDraft(device, m, reading.time, v, { late: true }));
      }
    }
    return drafts === null ? NO_ALERTS : this.emit(drafts, nowMs, mode);
  }

  private observeValue(device: DeviceState, m: number, value: number | null, t: number, drafts: AlertDraft[] | null): AlertDraft[] | null {
    if (value === null) return drafts;
    if (!Number.isFinite(value)) {
      this.metrics.invalidValues++;
      return drafts;
    }
    const window = device.window(m, this.windowUs, this.maxWindowSamples);
    const result = observeMetric(window, t, value, this.zRules[m], this.score, this.scratch);
    if (result.keptOut) this.metrics.outliersKeptOut++;
    if (result.anomaly && this.admit(device, m, t)) (drafts ??= []).push(this.anomalyDraft(device, m, t, value, null));
    // Sensors of the surroundings only: a battery gauge holding its level (full, on mains) is normal.
    if (m < STUCK_METRICS && observeStuck(device.stuck[m], t, value, this.stuckRule)) {
      // The run's own samples are in the baseline: what spread is left is the rest of the window's.
      const moves = window.baseline.predict(t, this.scratch) && this.scratch.stddev > this.zRules[m].minStddev;
      if (moves && this.admit(device, CooldownSlot.StuckTemperature + m, t)) {
        const run = device.stuck[m];
        (drafts ??= []).push(
          draftAlert(
            device.id,
            'stuck_sensor',
            t,
            { metric: METRICS[m], value, mean: this.scratch.value, stddev: this.scratch.stddev, threshold: run.length },
            {
              stuck_since_us: run.sinceUs,
              window_seconds: this.settings.windowSeconds,
            },
          ),
        );
      }
    }
    return drafts;
  }

  /**
   * Uses `this.score` as left by the scoring call just before. `mean` carries the value
   * the window's trend line expects at the reading's time, `stddev` its standard error.
   */
  private anomalyDraft(device: DeviceState, m: number, t: number, value: number, extra: Record<string, unknown> | null): AlertDraft {
    const s = this.score;
    const floor = this.zRules[m].minStddev;
    const baseline = device.windows[m]!.baseline;
    return draftAlert(
      device.id,
      'anomaly',
      t,
      { metric: METRICS[m], value, mean: s.value, stddev: s.stddev, z: s.z, threshold: this.settings.zThreshold },
      {
        window_seconds: this.settings.windowSeconds,
        samples: s.samples,
        window_mean: baseline.mean,
        slope_per_hour: baseline.slopePerSecond * 3600,
        stddev_floor_applied: s.stddev < floor,
        ...extra,
      },
    );
  }

  private observeSeq(device: DeviceState, seq: number, t: number, drafts: AlertDraft[] | null): AlertDraft[] | null {
    const st = device.sequence;
    const prevSeq = st.lastSeq;
    const prevUs = st.lastTimeUs;
    const missingBefore = st.missing;
    switch (observeSequence(st, t, seq, this.memoryUs)) {
      case SequenceOutcome.Gap: {
        const missing = st.missing - missingBefore;
        this.metrics.seqGaps++;
        this.metrics.seqMissing += missing;
        if (this.admit(device, CooldownSlot.DataGap, t)) {
          (drafts ??= []).push(
            draftAlert(
              device.id,
              'data_gap',
              t,
              { value: missing },
              {
                previous_seq: prevSeq,
                seq,
                missing,
                previous_time_us: prevUs,
              },
            ),
          );
        }
        break;
      }
      case SequenceOutcome.Repeat:
        this.metrics.seqRepeats++;
        break;
      case SequenceOutcome.Reset:
        this.metrics.seqResets++;
        break;
      default:
        break;
    }
    return drafts;
  }

  private admit(device: DeviceState, slot: CooldownSlot, t: number): boolean {
    const ok = device.cooldown.admit(slot, t, this.cooldownUs);
    if (!ok) this.metrics.suppressedCooldown++;
    return ok;
  }

  private emit(drafts: AlertDraft[], nowMs: number | undefined, mode: ReadingMode): readonly Alert[] {
    if (mode === 'replay') {
      this.metrics.suppressedReplay += drafts.length;
      return NO_ALERTS;
    }
    const out: Alert[] = [];
    for (const d of drafts) {
      const id = alertId(d.device_id, d.kind, d.metric, d.reading_time);
      if (this.recentIds.has(id)) {
        this.metrics.suppressedDuplicate++;
        continue;
      }
      this.recentIds.set(id, relevantUntil(d));
      this.metrics.alerts[d.kind]++;
      out.push(finishAlert(d, id, nowMs ?? Date.now()));
    }
    return out.length === 0 ? NO_ALERTS : out;
  }

  /** Remembered ids and episodes that can no longer matter are forgotten. */
  private prune(watermarkUs: number): void {
    const oldest = watermarkUs - this.replayHorizonUs;
    // forEach, not for-of over entries: no [key, value] pair allocated per entry per tick.
    this.recentIds.forEach((untilUs, id, map) => {
      if (untilUs < oldest) map.delete(id);
    });
    this.rememberedSilence.forEach((episode, deviceId, map) => {
      if (watermarkUs - episode.sinceUs > this.ttlUs) map.delete(deviceId);
    });
  }
}

/**
 * Event time until which an alert's id can be derived again: its reading's time, or for
 * device_inactive the moment the silence passed its limit (the threshold, in seconds).
 * Past that plus the replay horizon the id is forgotten.
 */
function relevantUntil(a: Pick<Alert, 'kind' | 'reading_time' | 'threshold'>): number {
  return a.kind === 'device_inactive' && a.threshold !== null ? a.reading_time + a.threshold * US_PER_S : a.reading_time;
}
