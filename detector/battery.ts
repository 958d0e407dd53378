/**
 * Low battery with hysteresis: one alert when the level falls below the threshold,
 * none while it stays low, and the alert re-arms only after the level has risen above
 * threshold + hysteresis, so a battery wobbling around the threshold does not flap.
 *
 * The state is two times (the newest reading below the threshold, the newest above the
 * re-arm level) and the "alerted" fact expires after `memoryUs` without a low reading.
 * That bounds how far back the rule looks, which is what lets a restarted detector
 * rebuild it exactly from recent history. Its visible effect: a device that sits in the
 * hysteresis band (or is silent) for longer than the memory and then dips again is
 * reminded once more.
 */
export class BatteryState {
  lastLowUs = Number.NEGATIVE_INFINITY;
  lastHighUs = Number.NEGATIVE_INFINITY;
}

export interface BatteryRule {
  threshold: number;
  hysteresis: number;
  memoryUs: number;
}

/** Feeds one in-order reading; true when it is a new crossing below the threshold. */
export function observeBattery(state: BatteryState, timeUs: number, level: number, rule: BatteryRule): boolean {
  if (level < rule.threshold) {
    const alreadyLow = state.lastLowUs > timeUs - rule.memoryUs && state.lastLowUs > state.lastHighUs;
    state.lastLowUs = timeUs;
    return !alreadyLow;
  }
  if (level > rule.threshold + rule.hysteresis) state.lastHighUs = timeUs;
  return false;
}
