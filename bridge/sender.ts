import { Message } from 'kafkajs';

/** A record waiting for Kafka, and who to tell when Kafka has it (or could not take it). */
export interface OutgoingRecord {
  topic: string;
  message: Message;
  settle: (err?: Error) => void;
}

export type SendBatch = (topicMessages: { topic: string; messages: Message[] }[]) => Promise<void>;

/**
 * Turns a stream of single records into few large produce requests, the way Kafka's own
 * producer does: while one request is in flight the next batch accumulates, so batches
 * grow with load and latency stays at one round trip when idle. At most `maxInFlight`
 * requests at once; with one (the default) records of a device keep their order even when
 * a request is retried. Memory is bounded by the caller (the MQTT session's in-flight limit).
 *
 * A request also stays under `maxBatchBytes`: Kafka refuses a record batch larger than the
 * topic's `max.message.bytes` (1 MiB by default) as a whole, and does so again on every retry,
 * so a burst of large dead-lettered payloads in one request would stall the bridge for good.
 */
export class BatchSender {
  private queue: OutgoingRecord[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly send: SendBatch,
    private readonly options: {
      maxBatch: number;
      maxBatchBytes: number;
      maxInFlight: number;
      onSent?: (count: number, ms: number) => void;
    },
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  push(record: OutgoingRecord): void {
    this.queue.push(record);
    if (this.inFlight < this.options.maxInFlight) queueMicrotask(() => this.pump());
  }

  /** Resolves once everything pushed so far has been settled. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const n = this.batchLength();
      const batch = n === this.queue.length ? this.queue : this.queue.slice(0, n);
      this.queue = batch === this.queue ? [] : this.queue.slice(n);
      this.inFlight++;
      void this.sendBatch(batch);
    }
    if (this.inFlight === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** How many queued records the next request takes: at least one, within both limits. */
  private batchLength(): number {
    const limit = Math.min(this.queue.length, this.options.maxBatch);
    let bytes = recordBytes(this.queue[0].message);
    let n = 1;
    while (n < limit) {
      bytes += recordBytes(this.queue[n].message);
      if (bytes > this.options.maxBatchBytes) break;
      n++;
    }
    return n;
  }

  private async sendBatch(batch: OutgoingRecord[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const record of batch) {
      let messages = byTopic.get(record.topic);
      if (!messages) byTopic.set(record.topic, (messages = []));
      messages.push(record.message);
    }
    const started = performance.now();
    let error: Error | undefined;
    try {
      await this.send([...byTopic].map(([topic, messages]) => ({ topic, messages })));
      this.options.onSent?.(batch.length, performance.now() - started);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    for (const record of batch) record.settle(error);
    this.inFlight--;
    this.pump();
  }
}

/** Kafka's per-record framing (lengths, offsets, timestamp delta), rounded up. */
const RECORD_OVERHEAD_BYTES = 32;

/** What a record adds to a request: key, value, header names and values, framing. */
export function recordBytes(message: Message): number {
  let n = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  const headers = message.headers;
  if (headers === undefined) return n; // a reading: no headers, nothing to allocate for them
  for (const name in headers) {
    const value = headers[name];
    n += Buffer.byteLength(name);
    if (Array.isArray(value)) for (const v of value) n += byteLength(v);
    else n += byteLength(value);
  }
  return n;
}

function byteLength(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}
