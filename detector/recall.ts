import type { Alert } from '../schemas';
import type { GroundTruthEvent } from '../schemas/ground-truth';
import { defaultDetectorSettings, type DetectorSettings } from './settings';

/**
 * How the detector's alerts are scored against a ground truth (schemas/ground-truth.ts), shared
 * by the backtest command, the evaluation that keeps the defaults honest
 * (testkit/evaluation.test.ts) and the detector benchmark, so all three score the same way.
 */

/** How often, in send time, a scored run ticks the detector for silence (the service's timer). */
export const EVALUATION_TICK_MS = 5000;

/** Silence after which the settings have judged a device inactive, with the evaluation's tick. */
export function silenceJudgedAfterSeconds(settings: DetectorSettings = defaultDetectorSettings()): number {
  return settings.inactiveAfterSeconds + settings.allowedLatenessSeconds + EVALUATION_TICK_MS / 1000;
}

export interface KindRecall {
  /** Injected events that a rule is expected to find. */
  events: number;
  found: number;
  recall: number;
}

/**
 * Recall per injected kind on a mixed fleet, each judged by the alert that should tell of it:
 * spikes by an anomaly at the spiked reading; drifts by an anomaly on their metric while they
 * last; stuck sensors by a stuck_sensor alert on their metric while they last; dropouts by a
 * device_inactive alert, counting only those longer than `judgedAfterS` (the silence limit,
 * plus the allowed lateness and a tick before a silence is judged: shorter ones are not meant
 * to alert).
 */
export function recallByKind(
  alerts: readonly Alert[],
  events: readonly GroundTruthEvent[],
  judgedAfterS: number = silenceJudgedAfterSeconds(),
): Record<'spike' | 'drift' | 'stuck' | 'dropout', KindRecall> {
  const found = (e: GroundTruthEvent, kind: Alert['kind'], fromUs: number, toUs: number): boolean =>
    alerts.some(
      (a) => a.kind === kind && a.device_id === e.device_id && a.metric === e.metric && a.reading_time >= fromUs && a.reading_time <= toUs,
    );
  const score = (list: readonly GroundTruthEvent[], hit: (e: GroundTruthEvent) => boolean): KindRecall => {
    const n = list.filter(hit).length;
    return { events: list.length, found: n, recall: list.length === 0 ? Number.NaN : n / list.length };
  };
  const of = (kind: string) => events.filter((e) => e.kind === kind);
  const span = (e: GroundTruthEvent) => [e.start_ms * 1000, e.end_ms * 1000] as const;
  return {
    spike: score(of('spike'), (e) => found(e, 'anomaly', e.start_ms * 1000, e.start_ms * 1000)),
    drift: score(of('drift'), (e) => found(e, 'anomaly', ...span(e))),
    stuck: score(of('stuck'), (e) => found(e, 'stuck_sensor', ...span(e))),
    // The inactive alert names the last reading before the silence, just before its first missed slot.
    dropout: score(
      of('dropout').filter((e) => e.end_ms - e.start_ms > judgedAfterS * 1000),
      (e) => found(e, 'device_inactive', e.start_ms * 1000 - judgedAfterS * 1_000_000, e.start_ms * 1000),
    ),
  };
}
