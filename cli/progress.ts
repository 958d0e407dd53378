/** What a replay has done so far. */
export interface ReplayCounts {
  /** Records read from Kafka (in the range). */
  records: number;
  /** Records the range holds: the sum of its offset ranges, known before the first read. */
  total: number;
  /** Rows new to the table. */
  inserted: number;
  /** Readings whose identity was stored already (or repeated within the range). */
  present: number;
  /** Records that could not be decoded (the writer dead-lettered them); nothing to store. */
  undecodable: number;
}

const BAR_WIDTH = 24;

/** Records per second and seconds left at that rate (null before any progress). */
export function rateAndEta(counts: ReplayCounts, elapsedMs: number): { perSecond: number; etaSeconds: number | null } {
  const perSecond = elapsedMs > 0 ? (counts.records * 1000) / elapsedMs : 0;
  const left = Math.max(0, counts.total - counts.records);
  return { perSecond, etaSeconds: perSecond > 0 ? left / perSecond : left === 0 ? 0 : null };
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The figures every progress form shows. */
function figures(counts: ReplayCounts, elapsedMs: number): string {
  const { perSecond, etaSeconds } = rateAndEta(counts, elapsedMs);
  return (
    `${counts.records}/${counts.total} records  ${counts.inserted} new  ${counts.present} already present` +
    (counts.undecodable > 0 ? `  ${counts.undecodable} undecodable` : '') +
    `  ${Math.round(perSecond)}/s  ETA ${formatSeconds(etaSeconds)}`
  );
}

/** A terminal's progress bar, rewritten in place: `[#########---------------]  37%  …`. */
export function progressBar(counts: ReplayCounts, elapsedMs: number): string {
  const fraction = counts.total === 0 ? 1 : Math.min(1, counts.records / counts.total);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${figures(counts, elapsedMs)}`;
}

/** A log's progress line, one every few seconds when the output is not a terminal. */
export function progressLine(counts: ReplayCounts, elapsedMs: number): string {
  return `replay: ${figures(counts, elapsedMs)}`;
}
