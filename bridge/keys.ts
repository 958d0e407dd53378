/**
 * Record keys as Buffers, one per device, made once: KafkaJS would turn a string key into a
 * Buffer for every record (to hash it for the partition, and again to write it), and a fleet
 * has few devices next to its readings. Bounded: past `max` distinct ids the cache starts over,
 * so a flood of made-up ids cannot grow it without end.
 */
export class KeyCache {
  private keys = new Map<string, Buffer>();

  constructor(private readonly max = 100_000) {}

  get size(): number {
    return this.keys.size;
  }

  of(id: string): Buffer {
    let key = this.keys.get(id);
    if (key === undefined) {
      if (this.keys.size >= this.max) this.keys = new Map();
      key = Buffer.from(id, 'utf8');
      this.keys.set(id, key);
    }
    return key;
  }
}
