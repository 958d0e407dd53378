import type { DeviceProfile } from './profile';

const HOUR_MS = 3_600_000;
const DAY_HOURS = 24;

/** Noise-free temperature at `timeMs`: the device's mean plus a 24 h sine peaking at its peak hour. */
export function expectedTemperature(profile: DeviceProfile, timeMs: number): number {
  const hour = (timeMs / HOUR_MS) % DAY_HOURS;
  const angle = (2 * Math.PI * (hour - profile.peakHour)) / DAY_HOURS;
  return profile.baseTemperature + profile.diurnalAmplitude * Math.cos(angle);
}

/** Noise-free relative humidity: moves against temperature, kept inside 0..100 %. */
export function expectedHumidity(profile: DeviceProfile, temperature: number): number {
  return clamp(profile.baseHumidity - profile.humidityPerDegree * (temperature - profile.baseTemperature), 0, 100);
}

export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

/** Rounds to hundredths, the precision devices report (the example payload's 25.5, 60.0). */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
