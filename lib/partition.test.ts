import { partitionOfKey } from './partition';

describe('partitionOfKey', () => {
  it('maps each key to one stable partition, and spreads a fleet over all of them', () => {
    // That it is the partition a producer picks is shown against Kafka in test/detector.test.ts.
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = partitionOfKey(`dev-${i}`, 12);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(12);
      expect(partitionOfKey(Buffer.from(`dev-${i}`), 12)).toBe(p);
      seen.add(p);
    }
    expect(seen.size).toBe(12);
  });
});
