import type { Alert, AlertKind, Reading } from '../schemas';
import type { GroundTruthEvent } from '../schemas/ground-truth';
import { Detector } from './detector';
import { type KindRecall, recallByKind, silenceJudgedAfterSeconds } from './recall';
import type { DetectorSettings } from './settings';

/**
 * Backtesting: the detector run over history from the Kafka log with other settings, and what
 * it would have raised set against what the live detector did raise. Pure; `iot-pipeline
 * backtest` (cli/backtest.ts) reads the topics and prints the result.
 */

/** A reading as the log holds it: with its Kafka timestamp, the clock the live detector ran by. */
export interface LoggedReading {
  reading: Reading;
  timestampMs: number;
}

export const ALERT_KINDS: readonly AlertKind[] = [
  'anomaly',
  'stuck_sensor',
  'low_battery',
  'device_inactive',
  'device_recovered',
  'data_gap',
];

/**
 * Runs a fresh detector over `history` (ascending Kafka time, as many partitions merged) the way
 * the service would have, uninterrupted: every reading judged, and a silence check every
 * `tickMs` of Kafka time, with event time running on through quiet spells as the service's
 * wall clock does. The history should begin a replay horizon before `fromMs` (warm-up): alerts
 * raised then are only remembered, as the live detector remembered them, so the windows,
 * cool-downs and silence episodes at `fromMs` are the live ones. Returns the alerts whose
 * triggering reading lies in [fromMs, toMs), the range an alert belongs to by its id.
 */
export function runBacktest(
  history: readonly LoggedReading[],
  settings: DetectorSettings,
  range: { fromMs: number; toMs: number },
  tickMs: number,
): Alert[] {
  const detector = new Detector(settings);
  const raised: Alert[] = [];
  let nextTickMs = Number.NaN;
  let lastRecordMs = Number.NaN;
  const tickUntil = (ms: number) => {
    for (; nextTickMs <= ms; nextTickMs += tickMs) {
      const idleUs = Math.max(0, nextTickMs - lastRecordMs) * 1000;
      raised.push(...detector.onTick(detector.eventTimeWatermarkUs + idleUs, true, nextTickMs));
    }
  };
  for (const { reading, timestampMs } of history) {
    if (Number.isNaN(nextTickMs)) nextTickMs = timestampMs + tickMs;
    tickUntil(timestampMs);
    raised.push(...detector.onReading(reading, timestampMs));
    lastRecordMs = timestampMs;
  }
  if (!Number.isNaN(nextTickMs)) tickUntil(range.toMs);
  return inRange(raised, range);
}

/** Alerts whose triggering reading lies in [fromMs, toMs). */
export function inRange(alerts: readonly Alert[], range: { fromMs: number; toMs: number }): Alert[] {
  return alerts.filter((a) => a.reading_time >= range.fromMs * 1000 && a.reading_time < range.toMs * 1000);
}

/** Merges per-partition histories (each in offset order) into one, by Kafka time; stable. */
export function mergeByTime(partitions: readonly (readonly LoggedReading[])[]): LoggedReading[] {
  return partitions.flat().sort((a, b) => a.timestampMs - b.timestampMs);
}

export interface KindCounts {
  onlyNew: number;
  onlyOld: number;
  both: number;
}

export interface AlertComparison {
  /** Raised with the new settings only. */
  onlyNew: Alert[];
  /** Raised by the live detector only. */
  onlyOld: Alert[];
  /** Raised by both (the same id: device, kind, metric, reading); the new one. */
  both: Alert[];
  perKind: Record<AlertKind, KindCounts>;
}

/**
 * Sets the backtest's alerts (new) against the live ones (old) by alert id: deterministic, so an
 * alert both would raise has one id whatever the settings (a threshold changes the z an alert
 * carries, not its id). Each side is taken once per id, in its first occurrence.
 */
export function compareAlerts(candidate: readonly Alert[], live: readonly Alert[]): AlertComparison {
  const byId = (alerts: readonly Alert[]) => {
    const map = new Map<string, Alert>();
    for (const a of alerts) if (!map.has(a.alert_id)) map.set(a.alert_id, a);
    return map;
  };
  const fresh = byId(candidate);
  const old = byId(live);
  const perKind = Object.fromEntries(ALERT_KINDS.map((k) => [k, { onlyNew: 0, onlyOld: 0, both: 0 }])) as Record<AlertKind, KindCounts>;
  const out: AlertComparison = { onlyNew: [], onlyOld: [], both: [], perKind };
  for (const [id, a] of fresh) {
    const side = old.has(id) ? 'both' : 'onlyNew';
    out[side].push(a);
    perKind[a.kind][side]++;
  }
  for (const [id, a] of old) {
    if (fresh.has(id)) continue;
    out.onlyOld.push(a);
    perKind[a.kind].onlyOld++;
  }
  const order = (x: Alert, y: Alert) =>
    x.reading_time - y.reading_time || (x.device_id < y.device_id ? -1 : x.device_id > y.device_id ? 1 : 0);
  out.onlyNew.sort(order);
  out.onlyOld.sort(order);
  out.both.sort(order);
  return out;
}

export interface TruthScore {
  /** Recall per injected kind (recall.ts, the same scoring as the detector's evaluation). */
  recall: Record<'spike' | 'drift' | 'stuck' | 'dropout', KindRecall>;
  /** Anomaly and stuck-sensor alerts that tell of no injected event: false alerts. */
  unexplained: number;
}

/**
 * Scores alerts against the ground truth (schemas/ground-truth.ts) for the range: recall as the detector's
 * evaluation counts it, and the anomaly and stuck alerts no injected event explains.
 */
export function scoreAgainstTruth(alerts: readonly Alert[], events: readonly GroundTruthEvent[], settings: DetectorSettings): TruthScore {
  const explains = (a: Alert) =>
    events.some(
      (e) =>
        e.device_id === a.device_id &&
        e.metric === a.metric &&
        (e.kind === 'spike' || e.kind === 'drift' || e.kind === 'stuck') &&
        a.reading_time >= e.start_ms * 1000 &&
        a.reading_time <= e.end_ms * 1000,
    );
  return {
    recall: recallByKind(alerts, events, silenceJudgedAfterSeconds(settings)),
    unexplained: alerts.filter((a) => (a.kind === 'anomaly' || a.kind === 'stuck_sensor') && !explains(a)).length,
  };
}

/** Ground-truth events (JSON lines, schemas/ground-truth.ts) whose first affected reading lies in the range. */
export function truthInRange(jsonl: string, range: { fromMs: number; toMs: number }): GroundTruthEvent[] {
  return jsonl
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GroundTruthEvent)
    .filter((e) => e.start_ms >= range.fromMs && e.start_ms < range.toMs);
}
