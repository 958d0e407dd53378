/**
 * Battery charge as a slow sawtooth: drains while in use; once it falls to the recharge mark
 * (someone swaps or charges it) it climbs back to 100 and drains again. Mains devices stay at 100.
 */
export interface BatteryState {
  level: number;
  charging: boolean;
}

export interface BatteryParams {
  drainPerHour: number;
  chargePerHour: number;
  rechargeAt: number;
}

/** Advances the battery by `hours` (pure: returns the new state). */
export function stepBattery(state: BatteryState, params: BatteryParams, hours: number): BatteryState {
  let { level, charging } = state;
  let left = hours;
  // A long gap (dropout, first reading) can span a turn of the sawtooth; walk through each leg.
  while (left > 0) {
    if (charging) {
      const toFull = (100 - level) / params.chargePerHour;
      if (toFull > left) return { level: level + left * params.chargePerHour, charging };
      left -= toFull;
      level = 100;
      charging = false;
    } else {
      const toMark = (level - params.rechargeAt) / params.drainPerHour;
      if (toMark > left) return { level: level - left * params.drainPerHour, charging };
      left -= Math.max(toMark, 0);
      level = Math.min(level, params.rechargeAt);
      charging = true;
    }
  }
  return { level, charging };
}
