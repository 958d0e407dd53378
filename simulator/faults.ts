import type { FaultKind } from '../schemas/ground-truth';
import type { Random } from './prng';

/** Delivery faults, for testing what the pipeline does with imperfect devices. Rates are per reading. */
export interface FaultSettings {
  lateRate: number;
  /** How long after its timestamp a late reading is sent, ms. */
  lateDelayMs: number;
  outOfOrderRate: number;
  duplicateRate: number;
  dropRate: number;
}

export const NO_FAULTS: FaultSettings = { lateRate: 0, lateDelayMs: 0, outOfOrderRate: 0, duplicateRate: 0, dropRate: 0 };

export interface FaultOptions {
  /** Holding a reading back needs a newer one to follow it. */
  canHold: boolean;
  /** A spike must arrive, or its ground-truth entry would describe a reading nobody saw. */
  canDrop: boolean;
  /** While a held reading waits, the next one goes out clean so the swap stays a plain swap. */
  forceNone: boolean;
}

/**
 * Picks at most one fault for a reading. Always draws exactly one number, so which readings get
 * faults does not shift the rest of the device's random sequence.
 */
export function chooseFault(rng: Random, settings: FaultSettings, options: FaultOptions): FaultKind | null {
  let x = rng.next();
  if (options.forceNone) return null;
  // Cumulative bands of [0, 1): drop, duplicate, out-of-order, late, then none.
  if (x < settings.dropRate) return options.canDrop ? 'dropped' : null;
  x -= settings.dropRate;
  if (x < settings.duplicateRate) return 'duplicate';
  x -= settings.duplicateRate;
  if (x < settings.outOfOrderRate) return options.canHold ? 'out_of_order' : null;
  x -= settings.outOfOrderRate;
  if (x < settings.lateRate) return 'late';
  return null;
}
