/**
 * How a detector that is handed partitions decides what history to re-read (README,
 * "Restarts and replay"). Pure functions; the service does the Kafka calls.
 *
 * Each offset commit carries, as its metadata, the Kafka timestamp of the last record it
 * covers. Kafka timestamps are the bridge's produce time, close to event time for a live
 * fleet, and Kafka can turn a timestamp into an offset per partition, so the replay
 * starts where the records are older than the newest committed one by more than the
 * detector's horizon (plus the clock lead a reading may have over its ingest time).
 */

export interface CommitPosition {
  partition: number;
  /** Next offset to read; -1 when the group has never committed this partition. */
  offset: bigint;
  /** Kafka timestamp (ms) of the last record before `offset`, from the commit metadata. */
  lastTimestampMs: number | null;
}

const METADATA_VERSION = 1;

export function commitMetadata(lastTimestampMs: number): string {
  return JSON.stringify({ v: METADATA_VERSION, ts: lastTimestampMs });
}

/** The timestamp in a commit's metadata; null for anything else (older or foreign commits). */
export function parseCommitMetadata(text: string | null | undefined): number | null {
  if (!text) return null;
  try {
    const parsed = JSON.parse(text) as { v?: unknown; ts?: unknown };
    return parsed.v === METADATA_VERSION && typeof parsed.ts === 'number' && Number.isFinite(parsed.ts) ? parsed.ts : null;
  } catch {
    return null;
  }
}

/**
 * The Kafka timestamp from which to replay the committed partitions, or null when there
 * is nothing to replay (no partition was ever committed). A committed partition without
 * a readable timestamp replays from the beginning of the topic (0): slower, never wrong.
 */
export function replayFromTimestampMs(positions: readonly CommitPosition[], horizonUs: number, maxFutureSeconds: number): number | null {
  const committed = positions.filter((p) => p.offset >= 0n);
  if (committed.length === 0) return null;
  let newest = Number.NEGATIVE_INFINITY;
  for (const p of committed) {
    if (p.lastTimestampMs === null) return 0;
    if (p.lastTimestampMs > newest) newest = p.lastTimestampMs;
  }
  return Math.max(0, Math.floor(newest - horizonUs / 1000 - maxFutureSeconds * 1000));
}

/**
 * Alerts are read back from a horizon further still: an alert is produced after its
 * reading, and a device_inactive alert stays relevant for a silence limit past it.
 */
export function alertsFromTimestampMs(replayFromMs: number, horizonUs: number): number {
  return Math.max(0, Math.floor(replayFromMs - horizonUs / 1000));
}
