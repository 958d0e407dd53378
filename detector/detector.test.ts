import type { Alert, Reading } from '../schemas';
import { alertId } from './alert';
import { Detector } from './detector';
import { defaultDetectorSettings, type DetectorSettings } from './settings';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

function noise(i: number): number {
  let x = Math.imul(i + 1, 2654435761) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 2246822519) >>> 0;
  return (x / 2 ** 32) * 2 - 1;
}

function reading(i: number, f: Partial<Reading> = {}): Reading {
  const time = T0 + i * 5 * S;
  return {
    device_id: 'd1',
    time,
    firmware: '1.0.0',
    temperature: 20 + 0.3 * noise(i),
    humidity: 50 + noise(i + 1000),
    battery: 80,
    seq: i,
    ingested_at: time / 1000,
    ...f,
  };
}

function feed(det: Detector, readings: Reading[]): Alert[] {
  return readings.flatMap((r) => det.onReading(r, 0));
}

const detector = (o: Partial<DetectorSettings> = {}) => new Detector(defaultDetectorSettings(o));

describe('Detector', () => {
  describe('late and out-of-order readings', () => {
    /** 300 in-order readings with a spike at 250, and a late one slipped in at position 200. */
    function stream(late: Reading): Reading[] {
      const readings = Array.from({ length: 300 }, (_, i) => reading(i, i === 250 ? { temperature: 23 } : {}));
      readings.splice(200, 0, late);
      return readings;
    }

    it('policy drop: a late reading is counted and changes nothing else', () => {
      const late = reading(150, { temperature: 40, battery: 5, seq: 9999 });
      const withLate = detector();
      const alerts = feed(withLate, stream(late));
      const without = detector();
      const reference = feed(
        without,
        Array.from({ length: 300 }, (_, i) => reading(i, i === 250 ? { temperature: 23 } : {})),
      );
      expect(alerts).toEqual(reference);
      expect(alerts.map((a) => a.kind)).toEqual(['anomaly']);
      expect(withLate.metrics.lateReadings).toBe(1);
      expect(withLate.deviceStats('d1')).toEqual({ ...without.deviceStats('d1'), late: 1 });
    });

    it('policy score: a late reading inside the window is judged, never added', () => {
      const late = reading(150, { temperature: 40, battery: 5, seq: 9999 });
      const det = detector({ latePolicy: 'score' });
      const alerts = feed(det, stream(late));
      // Its values are anomalies at its own time; the battery and sequence rules never see it.
      expect(alerts.map((a) => `${a.kind} ${a.metric} ${(a.reading_time - T0) / (5 * S)}`)).toEqual([
        'anomaly temperature 150',
        'anomaly battery 150',
        'anomaly temperature 250',
      ]);
      expect(JSON.parse(alerts[0].details!)).toMatchObject({ late: true });
      // And the in-order readings were judged exactly as without it.
      const reference = feed(
        detector({ latePolicy: 'score' }),
        Array.from({ length: 300 }, (_, i) => reading(i, i === 250 ? { temperature: 23 } : {})),
      );
      expect(alerts[2]).toEqual(reference[0]);
    });

    it('policy score: a reading older than the window is dropped', () => {
      const det = detector({ latePolicy: 'score' });
      const readings = Array.from({ length: 400 }, (_, i) => reading(i));
      readings.push(reading(100, { temperature: 40 })); // 1500 s older than the newest
      expect(feed(det, readings)).toEqual([]);
      expect(det.metrics.lateReadings).toBe(1);
    });

    it('a redelivered reading (same device and time) is ignored, the first one counts', () => {
      const det = detector();
      const readings = Array.from({ length: 100 }, (_, i) => reading(i));
      readings.splice(50, 0, { ...readings[49], temperature: 99 });
      expect(feed(det, readings)).toEqual([]);
      expect(det.metrics).toMatchObject({ duplicates: 1, readingsAccepted: 100 });
    });
  });

  it('rejects a reading dated far after the bridge received it, so one bad clock cannot make all later readings late', () => {
    const det = detector();
    const future = reading(1, { time: T0 + 3600 * S, ingested_at: T0 / 1000, seq: null });
    expect(feed(det, [reading(0, { seq: null }), future, reading(2, { seq: null }), reading(3, { seq: null })])).toEqual([]);
    expect(det.metrics).toMatchObject({ futureRejected: 1, readingsAccepted: 3, lateReadings: 0 });
  });

  it('skips values that are not finite numbers', () => {
    const det = detector();
    const readings = Array.from({ length: 50 }, (_, i) =>
      reading(i, i === 30 ? { temperature: Number.NaN, humidity: Number.POSITIVE_INFINITY } : {}),
    );
    expect(feed(det, readings)).toEqual([]);
    expect(det.metrics.invalidValues).toBe(2);
    expect(det.deviceStats('d1')!.windowSamples).toEqual({ temperature: 49, humidity: 49, battery: 50 });
  });

  describe('alert ids', () => {
    function spikes(): Reading[] {
      return Array.from({ length: 600 }, (_, i) => {
        const r = reading(i, { seq: i < 400 ? i : i + 5, battery: 90 - i * 0.12 });
        if (i % 150 === 100) r.temperature = 25;
        return r;
      });
    }

    it('the same input stream gives the same alerts and ids', () => {
      const a = feed(detector(), spikes());
      const b = feed(detector(), spikes());
      expect(a.map((x) => x.kind).sort()).toEqual(['anomaly', 'anomaly', 'anomaly', 'anomaly', 'data_gap', 'low_battery']);
      expect(b).toEqual(a);
      expect(new Set(a.map((x) => x.alert_id)).size).toBe(a.length);
    });

    it('are a hash of device, kind, metric and the triggering reading time', () => {
      const [first] = feed(detector(), spikes());
      expect(first.alert_id).toBe(alertId('d1', 'anomaly', 'temperature', T0 + 100 * 5 * S));
      expect(alertId('d1', 'anomaly', 'temperature', 1)).not.toBe(alertId('d2', 'anomaly', 'temperature', 1));
      expect(alertId('d1', 'anomaly', 'temperature', 1)).not.toBe(alertId('d1', 'anomaly', 'humidity', 1));
      expect(alertId('d1', 'anomaly', null, 1)).not.toBe(alertId('d1', 'data_gap', null, 1));
      expect(alertId('d1', 'anomaly', 'temperature', 1)).not.toBe(alertId('d1', 'anomaly', 'temperature', 2));
    });

    it('an alert whose id was already emitted is not emitted again', () => {
      // A restarted detector told what went out before (its reading offsets were not
      // committed, so they come again) stays quiet about them and goes on after them.
      const readings = spikes();
      const before = feed(detector(), readings.slice(0, 420));
      const det = detector();
      for (const a of before) det.rememberAlert(a);
      const again = feed(det, readings);
      expect(again).toEqual(feed(detector(), readings).slice(before.length));
      expect(det.metrics.suppressedDuplicate).toBe(before.length);
    });
  });

  it('replay mode builds state and emits nothing; live mode then carries on', () => {
    const det = detector();
    const readings = Array.from({ length: 400 }, (_, i) => reading(i, i === 100 || i === 350 ? { temperature: 25 } : {}));
    const replayed = readings.slice(0, 300).flatMap((r) => det.onReading(r, 0, 'replay'));
    expect(replayed).toEqual([]);
    expect(det.metrics.suppressedReplay).toBe(1);
    const live = feed(det, readings.slice(300));
    expect(live.map((a) => (a.reading_time - T0) / (5 * S))).toEqual([350]);
  });

  describe('stuck sensors', () => {
    /** 300 readings; temperature repeats 20.4 from reading 200 for `length` readings. */
    const stuckAt = (length: number, f: Partial<Reading> = {}) =>
      Array.from({ length: 300 }, (_, i) => reading(i, { ...(i >= 200 && i < 200 + length ? { temperature: 20.4 } : {}), ...f }));

    it('a value repeated for DETECTOR_STUCK_READINGS readings is one stuck_sensor alert, at the reading that completes the run', () => {
      const alerts = feed(detector(), stuckAt(60));
      expect(alerts.map((a) => `${a.kind} ${a.metric} ${(a.reading_time - T0) / (5 * S)}`)).toEqual(['stuck_sensor temperature 219']);
      expect(alerts[0]).toMatchObject({ value: 20.4, threshold: 20 });
      expect(alerts[0].stddev).toBeGreaterThan(0.05);
      expect(JSON.parse(alerts[0].details!)).toMatchObject({ stuck_since_us: T0 + 200 * 5 * S });
    });

    it('a shorter run, a flat series and a battery holding its level raise nothing', () => {
      expect(feed(detector(), stuckAt(19))).toEqual([]);
      expect(feed(detector(), stuckAt(0, { temperature: 21 }))).toEqual([]);
      expect(feed(detector(), stuckAt(0, { battery: 100 }))).toEqual([]);
    });

    it('is off with DETECTOR_STUCK_READINGS=0', () => {
      expect(feed(detector({ stuckReadings: 0 }), stuckAt(60))).toEqual([]);
    });
  });

  it('allocates no result array for a reading without alerts, and stamps detected_at from nowMs', () => {
    const det = detector();
    const first = det.onReading(reading(0), 0);
    expect(det.onReading(reading(1), 0)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    for (let i = 2; i < 200; i++) det.onReading(reading(i), 0);
    const [alert] = det.onReading(reading(200, { temperature: 30 }), 1_234_567);
    expect(alert.detected_at).toBe(1_234_567);
  });

  it('exposes the watermark and the replay horizon the service needs', () => {
    const det = detector();
    expect(det.maxEventTimeUs).toBe(Number.NEGATIVE_INFINITY);
    det.onReading(reading(10), 0);
    det.onReading(reading(5), 0); // late: does not move time back
    expect(det.maxEventTimeUs).toBe(T0 + 50 * S);
    expect(det.eventTimeWatermarkUs).toBe(T0 + 50 * S - 30 * S);
    // cool-down 120 s + max(2½ × window 900 s, memory 1800 s, 2 × silence cap 900 s)
    expect(det.replayHorizonUs).toBe(2370 * S);
  });

  it('refuses settings that break its assumptions', () => {
    expect(() => new Detector({ ...defaultDetectorSettings(), minSamples: 2 })).toThrow(/DETECTOR_MIN_SAMPLES/);
    expect(() => new Detector({ ...defaultDetectorSettings(), stuckReadings: 1 })).toThrow(/DETECTOR_STUCK_READINGS/);
  });
});
