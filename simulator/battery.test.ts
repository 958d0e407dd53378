import { stepBattery } from './battery';

describe('stepBattery', () => {
  const params = { drainPerHour: 1, chargePerHour: 20, rechargeAt: 10 };

  it('drains slowly', () => {
    expect(stepBattery({ level: 80, charging: false }, params, 5)).toEqual({ level: 75, charging: false });
  });

  it('recharges at the mark and drains again once full', () => {
    // 80 → 10 takes 70 h, 10 → 100 takes 4.5 h, then 0.5 h of draining.
    const s = stepBattery({ level: 80, charging: false }, params, 75);
    expect(s.charging).toBe(false);
    expect(s.level).toBeCloseTo(99.5, 6);
  });

  it('stays within its bounds over many small steps', () => {
    let s = { level: 50, charging: false };
    let min = 100;
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      s = stepBattery(s, params, 0.01);
      min = Math.min(min, s.level);
      max = Math.max(max, s.level);
    }
    expect(min).toBeCloseTo(10, 6);
    expect(max).toBeCloseTo(100, 6);
  });
});
