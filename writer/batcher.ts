/**
 * Groups records from concurrent callers (one per Kafka partition batch) into larger
 * database transactions. A caller's promise resolves only when its records are committed,
 * so it commits its Kafka offsets strictly after its rows are stored.
 *
 * A flush starts when `maxRecords` are pending or `lingerMs` after the first pending
 * record; flushes run one at a time so the database sees a steady stream of large batches.
 */
export class Batcher<T, R> {
  private pending: T[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly flushRecords: (records: T[]) => Promise<R>,
    private readonly options: { maxRecords: number; lingerMs: number; onFlushed?: (records: T[], result: R, ms: number) => void },
  ) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  write(records: T[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    for (const record of records) this.pending.push(record);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.pending.length >= this.options.maxRecords) this.startFlush();
    else this.timer ??= setTimeout(() => this.startFlush(), this.options.lingerMs);
    return done;
  }

  /** Flushes whatever is pending and waits for every flush to finish. */
  async drain(): Promise<void> {
    if (this.pending.length > 0) this.startFlush();
    await this.flushing;
  }

  private startFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    this.flushing = this.flushing.then(async () => {
      const started = performance.now();
      try {
        const result = await this.flushRecords(records);
        this.options.onFlushed?.(records, result, performance.now() - started);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    });
  }
}
