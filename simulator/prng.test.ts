import fc from 'fast-check';
import { Random, deriveSeed } from './prng';

describe('Random', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const seqA = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 50 }, () => c.next())).not.toEqual(seqA);
  });

  it('stays in [0, 1) for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        const r = new Random(seed);
        for (let i = 0; i < 100; i++) {
          const x = r.next();
          if (!(x >= 0 && x < 1)) return false;
        }
        return true;
      }),
    );
  });

  it('draws normals with mean 0 and σ 1', () => {
    const r = new Random(123);
    const n = 50_000;
    const xs = Array.from({ length: n }, () => r.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sd - 1)).toBeLessThan(0.02);
  });

  it('picks by weight', () => {
    const r = new Random(5);
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 10_000; i++) counts[r.weighted(['a', 'b'] as const, [1, 3])] += 1;
    expect(counts.b / 10_000).toBeGreaterThan(0.72);
    expect(counts.b / 10_000).toBeLessThan(0.78);
  });
});

describe('deriveSeed', () => {
  it('separates streams by path', () => {
    const seeds = new Set<number>();
    for (let device = 0; device < 200; device++) for (let stream = 1; stream <= 4; stream++) seeds.add(deriveSeed(42, device, stream));
    expect(seeds.size).toBe(800);
  });

  it('gives adjacent seeds different fleets, not the same devices in another order', () => {
    const fleet = (seed: number) => Array.from({ length: 200 }, (_, device) => deriveSeed(seed, device, 2));
    for (const seed of [0, 41, 44, 1_000_000]) {
      const mine = new Set(fleet(seed));
      for (const other of [seed + 1, seed + 2, seed + 3]) expect(fleet(other).filter((s) => mine.has(s))).toEqual([]);
    }
  });
});
