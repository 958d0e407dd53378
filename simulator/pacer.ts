/**
 * Maps device time to wall-clock time: at speedup 1 a reading goes out when its timestamp comes
 * round; at speedup 60 a simulated hour takes a minute; with `noWait` nothing waits and the
 * broker's acknowledgements set the pace. Wait times are computed from the run's start, not
 * from the previous reading, so a slow moment is caught up rather than carried forward.
 */
export class Pacer {
  constructor(
    private readonly simStartMs: number,
    private readonly wallStartMs: number,
    private readonly speedup: number,
    private readonly noWait: boolean,
  ) {}

  /** ms to wait at wall time `wallNowMs` before sending what is due at device time `simMs`. */
  waitMs(simMs: number, wallNowMs: number): number {
    if (this.noWait) return 0;
    const due = this.wallStartMs + (simMs - this.simStartMs) / this.speedup;
    return Math.max(0, due - wallNowMs);
  }
}
