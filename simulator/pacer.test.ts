import { Pacer } from './pacer';

describe('Pacer', () => {
  it('sends a reading when its device time comes round, scaled by the speedup', () => {
    const sim0 = Date.parse('2024-11-28T00:00:00Z');
    const wall0 = 1_000_000;
    const realTime = new Pacer(sim0, wall0, 1, false);
    expect(realTime.waitMs(sim0 + 5000, wall0)).toBe(5000);
    expect(realTime.waitMs(sim0 + 5000, wall0 + 4000)).toBe(1000);
    // Behind schedule: no waiting, so the run catches up.
    expect(realTime.waitMs(sim0 + 5000, wall0 + 9000)).toBe(0);
    const fast = new Pacer(sim0, wall0, 60, false);
    expect(fast.waitMs(sim0 + 3_600_000, wall0)).toBe(60_000);
  });

  it('never waits with noWait', () => {
    expect(new Pacer(0, 0, 1, true).waitMs(3_600_000, 0)).toBe(0);
  });
});
