import type { Alert } from './index';

const round = (x: number | null, digits = 2): string => (x === null ? '-' : Number(x.toFixed(digits)).toString());

/**
 * One alert as an operator reads it on a terminal:
 * `2026-12-02T02:50:00.123Z  anomaly           dev-003  temperature 35.2 (expected 21.3 ± 0.4, z 34.1)`.
 */
export function formatAlert(alert: Alert): string {
  const when = new Date(Math.floor(alert.reading_time / 1000)).toISOString();
  return `${when}  ${alert.kind.padEnd(16)}  ${alert.device_id}  ${describe(alert)}`;
}

function describe(a: Alert): string {
  switch (a.kind) {
    case 'anomaly':
      return `${a.metric ?? '?'} ${round(a.value)} (expected ${round(a.mean)} ± ${round(a.stddev)}, z ${round(a.z, 1)})`;
    case 'stuck_sensor':
      return `${a.metric ?? '?'} stuck at ${round(a.value)} for ${round(a.threshold, 0)} readings (it normally moves ± ${round(a.stddev)})`;
    case 'low_battery':
      return `battery ${round(a.value)} % below ${round(a.threshold)} %`;
    case 'device_inactive':
      return `silent since this reading, longer than ${round(a.threshold, 0)} s`;
    case 'device_recovered':
      return `speaks again after ${round(a.value, 0)} s of silence`;
    case 'data_gap':
      return `${round(a.value, 0)} readings missing by sequence number`;
    default:
      return '';
  }
}

/** The machine form: one JSON object per line, times as ISO text next to the raw numbers. */
export function alertJson(alert: Alert): string {
  return JSON.stringify({
    ...alert,
    reading_time_iso: new Date(Math.floor(alert.reading_time / 1000)).toISOString(),
    detected_at_iso: new Date(alert.detected_at).toISOString(),
    details: alert.details === null ? null : (JSON.parse(alert.details) as unknown),
  });
}
