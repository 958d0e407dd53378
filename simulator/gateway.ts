/**
 * Gateways: with `--batch N` devices 0..N-1 sit behind gateway 0, N..2N-1 behind gateway 1,
 * and so on; a gateway publishes its devices' readings as one JSON array once it holds N of
 * them (at the end of a run, whatever it holds). Pure: readings in, batches out, no I/O.
 */
export interface Batch<T> {
  gateway: number;
  items: T[];
}

export class Gateways<T> {
  private readonly pending = new Map<number, T[]>();

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`gateway batch size must be an integer >= 1, got ${size}`);
  }

  static gatewayOf(device: number, size: number): number {
    return Math.floor(device / size);
  }

  /** Adds a reading of `device`; returns its gateway's batch when that is now full. */
  add(device: number, item: T): Batch<T> | undefined {
    const gateway = Gateways.gatewayOf(device, this.size);
    let items = this.pending.get(gateway);
    if (items === undefined) this.pending.set(gateway, (items = []));
    items.push(item);
    if (items.length < this.size) return undefined;
    this.pending.delete(gateway);
    return { gateway, items };
  }

  /** What every gateway still holds, gateway by gateway; leaves nothing behind. */
  drain(): Batch<T>[] {
    const out = [...this.pending].sort((a, b) => a[0] - b[0]).map(([gateway, items]) => ({ gateway, items }));
    this.pending.clear();
    return out;
  }
}

/** The payload of a gateway batch: the readings' own JSON objects as one array. */
export function batchPayload(payloads: readonly string[]): string {
  return `[${payloads.join(',')}]`;
}
