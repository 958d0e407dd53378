import type { Alert, Reading } from '../schemas';
import { Detector } from './detector';
import { defaultDetectorSettings, type DetectorSettings } from './settings';
import { SilenceState, silenceLimitUs } from './silence';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

function reading(device: string, tSec: number): Reading {
  const time = T0 + Math.round(tSec * S);
  return {
    device_id: device,
    time,
    firmware: null,
    temperature: 20,
    humidity: 50,
    battery: 80,
    seq: null,
    ingested_at: Math.floor(time / 1000),
  };
}

/**
 * A fleet in event time: every device reports every `interval` s except while its
 * `silent` predicate says so; the service ticks after every round. Returns the alerts.
 */
function fleet(opts: {
  devices: string[];
  seconds: number;
  interval?: Record<string, number>;
  silent?: (device: string, t: number) => boolean;
  caughtUp?: (t: number) => boolean;
  settings?: Partial<DetectorSettings>;
}): { alerts: (Alert & { at: number })[]; det: Detector } {
  const det = new Detector(defaultDetectorSettings(opts.settings));
  const alerts: (Alert & { at: number })[] = [];
  for (let t = 0; t <= opts.seconds; t += 1) {
    for (const d of opts.devices) {
      const every = opts.interval?.[d] ?? 5;
      if (t % every !== 0 || opts.silent?.(d, t)) continue;
      for (const a of det.onReading(reading(d, t), 0)) alerts.push({ ...a, at: t });
    }
    if (t % 5 === 0) {
      for (const a of det.onTick(det.eventTimeWatermarkUs, opts.caughtUp?.(t) ?? true, 0)) alerts.push({ ...a, at: t });
    }
  }
  return { alerts, det };
}

const summary = (alerts: (Alert & { at: number })[]) =>
  alerts.map((a) => `${a.kind} ${a.device_id} reading@${(a.reading_time - T0) / S} at ${a.at}`);

describe('silent devices', () => {
  it('a silent device yields one device_inactive, and on return one device_recovered', () => {
    const { alerts, det } = fleet({
      devices: ['a', 'b', 'c'],
      seconds: 2000,
      silent: (d, t) => d === 'b' && t > 100 && t < 1000,
    });
    // Silence limit 300 s, watermark 30 s behind the newest reading: judged at 100 + 330.
    expect(summary(alerts)).toEqual(['device_inactive b reading@100 at 435', 'device_recovered b reading@1000 at 1000']);
    const [inactive, recovered] = alerts;
    expect(inactive).toMatchObject({ metric: null, threshold: 300, reading_time: T0 + 100 * S });
    expect(JSON.parse(inactive.details!)).toEqual({ last_seen_us: T0 + 100 * S, silence_limit_s: 300, median_interval_s: 5 });
    expect(recovered).toMatchObject({ value: 900, reading_time: T0 + 1000 * S });
    expect(JSON.parse(recovered.details!)).toEqual({ silent_since_us: T0 + 100 * S });
    expect(det.metrics.alerts).toMatchObject({ device_inactive: 1, device_recovered: 1 });
  });

  it('no inactive alerts while the consumer is behind; a silence that really happened is reported once caught up', () => {
    const behind = (t: number) => t < 1500;
    const { alerts, det } = fleet({
      devices: ['a', 'b'],
      seconds: 2000,
      silent: (d, t) => d === 'b' && t > 100,
      caughtUp: (t) => !behind(t),
    });
    expect(summary(alerts)).toEqual(['device_inactive b reading@100 at 1500']);
    expect(det.metrics.silenceChecksHeld).toBe(300);
  });

  it('a consumer backlog raises no false alarms across the fleet', () => {
    // The detector was down for an hour and now works through the backlog: twenty devices
    // that never stopped reporting. By wall clock their last readings look an hour old.
    const devices = Array.from({ length: 20 }, (_, i) => `d${i}`);
    const wallClockUs = T0 + 3600 * S;
    for (const judge of ['wall clock while behind', 'event time'] as const) {
      const det = new Detector(defaultDetectorSettings());
      const alerts: Alert[] = [];
      for (let t = 0; t <= 3600; t += 5) {
        for (const d of devices) alerts.push(...det.onReading(reading(d, t), 0));
        // Held back while behind, whatever the watermark; and an event-time watermark
        // would not have fired anyway.
        alerts.push(...(judge === 'event time' ? det.onTick(det.eventTimeWatermarkUs, true, 0) : det.onTick(wallClockUs, t >= 3600, 0)));
      }
      expect(alerts).toEqual([]);
    }
  });

  it('a slow device is judged by a multiple of its own interval, capped', () => {
    // Every 60 s: limit max(300, 10 × 60) = 600 s. Every 200 s: 2000 s, capped to 900 s.
    const { alerts } = fleet({
      devices: ['fast', 'slow', 'slower'],
      seconds: 4000,
      interval: { slow: 60, slower: 200 },
      silent: (d, t) => d !== 'fast' && t > 1200 && t < 3000,
    });
    expect(summary(alerts)).toEqual([
      'device_inactive slow reading@1200 at 1835',
      'device_inactive slower reading@1200 at 2135',
      'device_recovered slow reading@3000 at 3000',
      'device_recovered slower reading@3000 at 3000',
    ]);
    expect(alerts[0].threshold).toBe(600);
    expect(alerts[1].threshold).toBe(900);
  });

  it('forgets a device silent longer than the TTL', () => {
    const { det } = fleet({
      devices: ['a', 'b'],
      seconds: 4000,
      silent: (d, t) => d === 'b' && t > 100,
      settings: { deviceTtlSeconds: 3600 },
    });
    expect(det.deviceCount).toBe(1);
    expect(det.deviceStats('b')).toBeUndefined();
    expect(det.metrics.devicesForgotten).toBe(1);
  });

  it('after a restart, a remembered open episode ends in device_recovered and is not alerted twice', () => {
    const first = fleet({ devices: ['a', 'b'], seconds: 800, silent: (d, t) => d === 'b' && t > 100 });
    expect(summary(first.alerts)).toEqual(['device_inactive b reading@100 at 435']);
    // A new detector replays only the last minutes (b's readings are older) and is told
    // what was emitted.
    const det = new Detector(defaultDetectorSettings());
    for (let t = 600; t <= 800; t += 5) det.onReading(reading('a', t), 0, 'replay');
    for (const a of first.alerts) det.rememberAlert(a);
    const after: Alert[] = [];
    for (let t = 805; t <= 900; t += 5) {
      after.push(...det.onReading(reading('a', t), 0));
      after.push(...det.onTick(det.eventTimeWatermarkUs, true, 0));
    }
    after.push(...det.onReading(reading('b', 900), 0));
    expect(after.map((a) => `${a.kind} ${a.device_id}`)).toEqual(['device_recovered b']);
    expect(JSON.parse(after[0].details!)).toEqual({ silent_since_us: T0 + 100 * S });
  });

  it('the silence limit is the larger of the floor and the capped multiple of the median interval', () => {
    const rule = { afterUs: 300 * S, intervalMultiple: 10, maxUs: 900 * S };
    const s = new SilenceState();
    expect(silenceLimitUs(s, 0, rule)).toBe(300 * S);
    // Intervals 5, 5, 3600 (an outage), 5: the median ignores the outage.
    let t = 0;
    for (const gap of [5, 5, 3600, 5]) {
      s.recordInterval(t * S, (t + gap) * S);
      t += gap;
    }
    expect(s.medianIntervalUs(Number.NEGATIVE_INFINITY)).toBe(5 * S);
    expect(silenceLimitUs(s, t * S, { ...rule, maxUs: 1e6 * S })).toBe(300 * S);
    // Only intervals that began within the cap before the last reading count.
    expect(s.medianIntervalUs(t * S - 900 * S)).toBe(5 * S);
    expect(s.medianIntervalUs(t * S - 1 * S)).toBeNaN();
  });
});
