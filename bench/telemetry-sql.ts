/**
 * Bulk readings made by the database itself (generate_series), for the storage and query
 * benchmarks: millions of rows in seconds, where producing them through the pipeline would
 * take minutes. Shaped like the simulator's (simulator/README.md, "Profile"): each device
 * reads every `intervalS` at its own offset inside the interval (ms-precision times), a daily
 * temperature cycle with its own mean, swing and peak hour plus Gaussian noise (σ 0.25 °C),
 * humidity against it (σ 1 %), a slowly draining battery; values rounded to 2 decimals as
 * devices send them. Noise matters here: it is what compression cannot squeeze.
 */
const GAUSS = `sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())`;

export interface TelemetrySpan {
  devices: number;
  /** Device time of the first slot, ISO 8601. */
  fromIso: string;
  /** Seconds of device time. */
  seconds: number;
  intervalS: number;
}

/** One INSERT … SELECT for the slots in [fromIso + offsetS, + seconds): one call per hour keeps progress visible. */
export function insertSpanSql(span: TelemetrySpan): string {
  const { devices, fromIso, seconds, intervalS } = span;
  // d: device number 1..n; t: slot start. Offsets spread the fleet over the interval.
  return `
INSERT INTO device_telemetry (time, device_id, firmware, temperature, humidity, battery)
SELECT ts, 'device-' || lpad(d::text, 4, '0'), '1.' || (d % 3) || '.0',
       round((temp_mean + swing * cos(2 * pi() * (day_frac - peak)) + 0.25 * ${GAUSS})::numeric, 2)::float8,
       round(least(100, greatest(0, hum_mean - 2 * swing * cos(2 * pi() * (day_frac - peak)) + 1.0 * ${GAUSS}))::numeric, 2)::float8,
       round(greatest(5, 100 - mod((extract(epoch FROM ts) / 3600 * drain + d * 7)::numeric, 90)::float8)::numeric, 2)::float8
  FROM (
    SELECT t + ((d - 1) * ${intervalS}::float8 / ${devices}) * interval '1 second' AS ts, d,
           16 + mod(d * 37, 12) AS temp_mean, 1.5 + mod(d * 13, 45) / 10.0 AS swing,
           mod(d * 5, 24) / 24.0 AS peak, 40 + mod(d * 11, 25) AS hum_mean, 0.2 + mod(d, 13) / 10.0 AS drain,
           extract(epoch FROM t) / 86400.0 AS day_frac
      FROM generate_series(timestamptz '${fromIso}', timestamptz '${fromIso}' + ${seconds} * interval '1 second' - interval '1 microsecond', ${intervalS} * interval '1 second') AS t,
           generate_series(1, ${devices}) AS d
  ) s`;
}

/** The hourly pieces of a span (the last may be shorter), in time order. */
export function hourlySpans(devices: number, fromMs: number, seconds: number, intervalS: number): TelemetrySpan[] {
  const spans: TelemetrySpan[] = [];
  for (let s = 0; s < seconds; s += 3600) {
    spans.push({ devices, fromIso: new Date(fromMs + s * 1000).toISOString(), seconds: Math.min(3600, seconds - s), intervalS });
  }
  return spans;
}
