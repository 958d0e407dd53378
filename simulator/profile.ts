import { Random, deriveSeed } from './prng';

/** Firmware versions a mixed fleet runs, with how common each is (a beta on a few devices). */
export const FIRMWARE_VERSIONS = ['1.0.0', '1.1.0', '1.2.3', '2.0.0-beta'] as const;
const FIRMWARE_WEIGHTS = [0.2, 0.3, 0.4, 0.1];

/** Share of devices on mains power: their battery reads 100 and never drains. */
const MAINS_SHARE = 0.2;

/** Random-stream numbers, so each concern draws from its own sequence (see deriveSeed). */
export const STREAM = { profile: 1, noise: 2, events: 3, faults: 4 } as const;

/** The fixed character of one virtual device, drawn once from the seed. */
export interface DeviceProfile {
  index: number;
  id: string;
  firmware: string;
  /** Mean temperature, °C. */
  baseTemperature: number;
  /** Half the day-night swing, °C. */
  diurnalAmplitude: number;
  /** UTC hour of the daily maximum (devices sit in different places). */
  peakHour: number;
  /** σ of the sensor noise, °C: the unit in which spikes and drift are sized. */
  temperatureSigma: number;
  /** Relative humidity at the mean temperature, %. */
  baseHumidity: number;
  /** % of humidity lost per °C above the mean (warm air holds more water, so RH falls). */
  humidityPerDegree: number;
  humiditySigma: number;
  mains: boolean;
  battery: { start: number; drainPerHour: number; chargePerHour: number; rechargeAt: number };
}

/** Zero-padded ids (`device-001`) wide enough for the whole fleet, so they sort. */
export function deviceId(prefix: string, index: number, deviceCount: number): string {
  const width = Math.max(3, String(deviceCount).length);
  return `${prefix}${String(index + 1).padStart(width, '0')}`;
}

/** A device's profile depends only on (seed, index): growing the fleet leaves existing devices alone. */
export function createProfile(seed: number, index: number, id: string): DeviceProfile {
  const rng = new Random(deriveSeed(seed, index, STREAM.profile));
  const mains = rng.chance(MAINS_SHARE);
  return {
    index,
    id,
    firmware: rng.weighted(FIRMWARE_VERSIONS, FIRMWARE_WEIGHTS),
    baseTemperature: rng.uniform(16, 28),
    diurnalAmplitude: rng.uniform(1.5, 6),
    peakHour: rng.uniform(0, 24),
    temperatureSigma: rng.uniform(0.1, 0.4),
    baseHumidity: rng.uniform(40, 65),
    humidityPerDegree: rng.uniform(1.5, 3),
    humiditySigma: rng.uniform(0.5, 1.5),
    mains,
    battery: {
      // Some devices start low, so a fresh fleet already has low-battery cases to alert on.
      start: mains ? 100 : rng.uniform(10, 100),
      drainPerHour: rng.uniform(0.2, 1.5),
      chargePerHour: rng.uniform(10, 30),
      rechargeAt: rng.uniform(5, 15),
    },
  };
}
