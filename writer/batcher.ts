type Outcome = { ok: true } | { ok: false; err: unknown };

/**
 * Groups records from concurrent callers (one per Kafka partition batch) into larger
 * database transactions. A caller's promise resolves only when its records are committed,
 * so it commits its Kafka offsets strictly after its rows are stored.
 *
 * A flush starts when `maxRecords` are pending or `lingerMs` after the first pending
 * record. Up to `maxInFlight` flushes run at once, each its own transaction on its own
 * connection, so the database encodes, copies and inserts one batch while the previous one
 * commits instead of idling between them. That keeps first-wins by Kafka order because a
 * caller's records go into one flush and KafkaJS hands out a partition's next batch only after
 * the handler of its previous one returned: flushes in flight never share a partition, so they
 * never share a device (the partition key). Callers settle in flush order all the same, so
 * offsets are committed in the order their records were flushed.
 */
export class Batcher<T, R> {
  private pending: T[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  /** Flushes waiting for a free slot, oldest first. */
  private readonly queued: (() => void)[] = [];
  /** Settles after the callers of the newest flush (and so of every earlier one) are settled. */
  private settled: Promise<void> = Promise.resolve();

  constructor(
    private readonly flushRecords: (records: T[]) => Promise<R>,
    private readonly options: {
      maxRecords: number;
      lingerMs: number;
      maxInFlight: number;
      onFlushed?: (records: T[], result: R, ms: number) => void;
    },
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
    await this.settled;
  }

  private startFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    const outcome = this.run(records);
    const earlier = this.settled;
    this.settled = Promise.all([earlier, outcome]).then(([, o]) => {
      for (const w of waiters) {
        if (o.ok) w.resolve();
        else w.reject(o.err);
      }
    });
  }

  private async run(records: T[]): Promise<Outcome> {
    await this.slot();
    const started = performance.now();
    try {
      const result = await this.flushRecords(records);
      this.options.onFlushed?.(records, result, performance.now() - started);
      return { ok: true };
    } catch (err) {
      return { ok: false, err };
    } finally {
      const next = this.queued.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Resolves when this flush may start; a finishing flush hands its slot to the oldest queued one. */
  private slot(): Promise<void> {
    if (this.running < this.options.maxInFlight) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queued.push(resolve));
  }
}
