/** Counters the run keeps; a progress line and the final summary are made from them. */
export interface Counters {
  published: number;
  acked: number;
  failed: number;
  inFlight: number;
}

/** One line: totals, and rates over the last tick (what is happening now, not the run's average). */
export function progressLine(now: Counters, before: Counters, seconds: number, simTimeMs: number | null): string {
  const rate = (n: number) => Math.round(n / Math.max(seconds, 1e-9));
  const sim = simTimeMs === null ? '' : `  device time ${new Date(simTimeMs).toISOString()}`;
  return (
    `published ${now.published}  acked ${now.acked}  in-flight ${now.inFlight}` +
    (now.failed > 0 ? `  failed ${now.failed}` : '') +
    `  ${rate(now.published - before.published)}/s published  ${rate(now.acked - before.acked)}/s acked${sim}`
  );
}
