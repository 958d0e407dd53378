import { Backoff, backoffDelay } from './backoff';

describe('backoffDelay', () => {
  const policy = { minMs: 500, maxMs: 30_000 };

  it('doubles its ceiling per attempt up to the maximum', () => {
    const top = (attempt: number) => backoffDelay(policy, attempt, () => 0.999999);
    expect(top(0)).toBe(500);
    expect(top(1)).toBe(1000);
    expect(top(3)).toBe(4000);
    expect(top(10)).toBe(30_000);
    expect(top(1000)).toBe(30_000);
  });

  it('jitters within the upper half of the ceiling', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      expect(backoffDelay(policy, attempt, () => 0)).toBe(Math.round(ceiling / 2));
      const d = backoffDelay(policy, attempt);
      expect(d).toBeGreaterThanOrEqual(Math.round(ceiling / 2));
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('Backoff', () => {
  it('waits longer after each failure and starts over after a reset', () => {
    const backoff = new Backoff({ minMs: 100, maxMs: 1000 }, () => 0.999999);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 800, 1000]);
    expect(backoff.attempts).toBe(5);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });
});
