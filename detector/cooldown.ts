/**
 * Alert cool-down per (device, kind, metric), judged in event time.
 *
 * Rule: a candidate alert is emitted only if no other candidate of the same key lies
 * within the cool-down before it (|t − newest earlier candidate| < cooldown suppresses).
 * Suppressed candidates still count as activity, so a flapping condition is one episode
 * and one alert; the next alert needs a full cool-down of quiet. Because the decision
 * depends only on candidates within one cool-down (not on which earlier alerts happened
 * to be emitted), a detector that replays recent history reaches the same decisions as
 * one that never stopped.
 */

/** The keys that cool down; device_inactive/device_recovered pair up per episode and never do. */
export enum CooldownSlot {
  AnomalyTemperature = 0,
  AnomalyHumidity = 1,
  AnomalyBattery = 2,
  LowBattery = 3,
  DataGap = 4,
  StuckTemperature = 5,
  StuckHumidity = 6,
}
const SLOTS = 7;

export class Cooldown {
  private readonly newest = new Float64Array(SLOTS).fill(Number.NEGATIVE_INFINITY);

  /** Records a candidate at `timeUs`; true when it may be emitted. */
  admit(slot: CooldownSlot, timeUs: number, cooldownUs: number): boolean {
    const prev = this.newest[slot];
    const quiet = !(Math.abs(timeUs - prev) < cooldownUs);
    if (timeUs > prev) this.newest[slot] = timeUs;
    return quiet;
  }
}
