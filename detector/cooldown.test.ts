import { Cooldown, CooldownSlot } from './cooldown';

const S = 1_000_000;

describe('Cooldown', () => {
  it('admits the first candidate and then needs a full cool-down of quiet', () => {
    const c = new Cooldown();
    const admit = (t: number) => c.admit(CooldownSlot.AnomalyTemperature, t * S, 300 * S);
    expect(admit(0)).toBe(true);
    expect(admit(100)).toBe(false);
    // Suppressed candidates extend the episode: flapping stays one alert.
    expect(admit(350)).toBe(false);
    expect(admit(640)).toBe(false);
    expect(admit(940)).toBe(true);
  });

  it('keeps keys apart', () => {
    const c = new Cooldown();
    expect(c.admit(CooldownSlot.AnomalyTemperature, 0, 300 * S)).toBe(true);
    expect(c.admit(CooldownSlot.AnomalyHumidity, 1, 300 * S)).toBe(true);
    expect(c.admit(CooldownSlot.LowBattery, 2, 300 * S)).toBe(true);
    expect(c.admit(CooldownSlot.DataGap, 3, 300 * S)).toBe(true);
    expect(c.admit(CooldownSlot.AnomalyTemperature, 4, 300 * S)).toBe(false);
  });

  it('judges a late candidate by its distance either side of the newest one', () => {
    const c = new Cooldown();
    expect(c.admit(CooldownSlot.AnomalyTemperature, 1000 * S, 300 * S)).toBe(true);
    expect(c.admit(CooldownSlot.AnomalyTemperature, 800 * S, 300 * S)).toBe(false);
    expect(c.admit(CooldownSlot.AnomalyTemperature, 600 * S, 300 * S)).toBe(true);
    // The newest stays the reference.
    expect(c.admit(CooldownSlot.AnomalyTemperature, 1200 * S, 300 * S)).toBe(false);
  });
});
