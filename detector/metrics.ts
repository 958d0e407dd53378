import type { AlertKind } from '../schemas';

/**
 * Plain counters the detector logic keeps; the service maps them to Prometheus
 * (counters unless noted). They only ever grow, so a scrape can take deltas.
 */
export interface DetectorMetrics {
  /** Readings that moved a device forward in time and fed the rules. */
  readingsAccepted: number;
  /** Same device and time as the newest reading already seen (a redelivery); ignored. */
  duplicates: number;
  /** Older than the newest reading seen for the device; handled by the late policy. */
  lateReadings: number;
  /** Dated further after their ingest time than DETECTOR_MAX_FUTURE_SECONDS; ignored. */
  futureRejected: number;
  /** Readings whose time is not a finite number; ignored. */
  invalidReadings: number;
  /** Metric values that are not finite numbers; that metric is skipped. */
  invalidValues: number;
  /** Values kept out of the baseline as outliers (so they cannot mask later ones). */
  outliersKeptOut: number;
  /** Alerts emitted, by kind. */
  alerts: Record<AlertKind, number>;
  /** Candidates withheld by the per-(device, kind, metric) cool-down. */
  suppressedCooldown: number;
  /** Candidates withheld because their reading was replayed history. */
  suppressedReplay: number;
  /** Candidates withheld because an alert with the same id was already emitted. */
  suppressedDuplicate: number;
  /** Sequence-number gaps, numbers missing in them, repeats, resets (all devices). */
  seqGaps: number;
  seqMissing: number;
  seqRepeats: number;
  seqResets: number;
  /** Silence checks skipped because the consumer was not caught up. */
  silenceChecksHeld: number;
  /** Devices forgotten after DETECTOR_DEVICE_TTL_SECONDS of silence. */
  devicesForgotten: number;
}

export function newDetectorMetrics(): DetectorMetrics {
  return {
    readingsAccepted: 0,
    duplicates: 0,
    lateReadings: 0,
    futureRejected: 0,
    invalidReadings: 0,
    invalidValues: 0,
    outliersKeptOut: 0,
    alerts: { anomaly: 0, stuck_sensor: 0, low_battery: 0, device_inactive: 0, device_recovered: 0, data_gap: 0 },
    suppressedCooldown: 0,
    suppressedReplay: 0,
    suppressedDuplicate: 0,
    seqGaps: 0,
    seqMissing: 0,
    seqRepeats: 0,
    seqResets: 0,
    silenceChecksHeld: 0,
    devicesForgotten: 0,
  };
}
