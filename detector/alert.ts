import { createHash } from 'node:crypto';
import type { Alert, AlertKind } from '../schemas';

/** An alert before it gets its id and detection time; rules produce these. */
export type AlertDraft = Omit<Alert, 'alert_id' | 'detected_at'>;

/**
 * Deterministic id: the same input stream yields the same ids, so a restarted or
 * replaying detector re-derives exactly the ids it emitted before and duplicates can
 * be recognised anywhere downstream. `readingTimeUs` is the triggering reading's time;
 * for device_inactive it is the last reading before the silence (one id per episode).
 * 128 bits of SHA-256 are plenty against accidental collisions.
 */
export function alertId(deviceId: string, kind: AlertKind, metric: string | null, readingTimeUs: number): string {
  return createHash('sha256')
    .update(`${deviceId}\u0000${kind}\u0000${metric ?? ''}\u0000${readingTimeUs}`)
    .digest('hex')
    .slice(0, 32);
}

export function finishAlert(draft: AlertDraft, id: string, detectedAtMs: number): Alert {
  return { alert_id: id, ...draft, detected_at: detectedAtMs };
}

export function draftAlert(
  deviceId: string,
  kind: AlertKind,
  readingTimeUs: number,
  fields: Partial<Pick<Alert, 'metric' | 'value' | 'mean' | 'stddev' | 'z' | 'threshold'>>,
  details: Record<string, unknown> | null,
): AlertDraft {
  return {
    device_id: deviceId,
    kind,
    metric: fields.metric ?? null,
    value: fields.value ?? null,
    mean: fields.mean ?? null,
    stddev: fields.stddev ?? null,
    z: fields.z ?? null,
    threshold: fields.threshold ?? null,
    reading_time: readingTimeUs,
    // Fixed key order from the object literal keeps the text deterministic too.
    details: details === null ? null : JSON.stringify(details),
  };
}
