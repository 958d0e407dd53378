import type { Alert, Reading } from '../schemas';
import { Detector } from './detector';
import { SequenceOutcome, SequenceState, observeSequence } from './sequence';
import { defaultDetectorSettings } from './settings';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

function reading(tSec: number, seq: number | null): Reading {
  const time = T0 + tSec * S;
  return { device_id: 'd1', time, firmware: null, temperature: null, humidity: null, battery: null, seq, ingested_at: time / 1000 };
}

describe('sequence numbers', () => {
  it('a gap raises one data_gap alert saying how many readings are missing', () => {
    const det = new Detector(defaultDetectorSettings());
    const alerts: Alert[] = [];
    [1, 2, 3, 7, 8, 9].forEach((seq, i) => alerts.push(...det.onReading(reading(i * 5, seq), 0)));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'data_gap', metric: null, value: 3, reading_time: T0 + 15 * S });
    expect(JSON.parse(alerts[0].details!)).toEqual({ previous_seq: 3, seq: 7, missing: 3, previous_time_us: T0 + 10 * S });
    expect(det.metrics).toMatchObject({ seqGaps: 1, seqMissing: 3 });
    expect(det.deviceStats('d1')).toMatchObject({ seqGaps: 1, seqMissing: 3 });
  });

  it('counts repeats (a redelivery, or the same number again) and resets, without alerting', () => {
    const det = new Detector(defaultDetectorSettings());
    const alerts: Alert[] = [];
    alerts.push(...det.onReading(reading(0, 10), 0));
    alerts.push(...det.onReading(reading(0, 10), 0)); // same identity: a redelivery
    alerts.push(...det.onReading(reading(5, 10), 0)); // new reading, same number
    alerts.push(...det.onReading(reading(10, 11), 0));
    alerts.push(...det.onReading(reading(15, 1), 0)); // the device restarted its counter
    alerts.push(...det.onReading(reading(20, 2), 0));
    expect(alerts).toEqual([]);
    expect(det.deviceStats('d1')).toMatchObject({ seqRepeats: 2, seqResets: 1, seqGaps: 0, duplicates: 1 });
    expect(det.metrics).toMatchObject({ seqRepeats: 2, seqResets: 1, duplicates: 1 });
  });

  it('gaps within the cool-down are all counted but alerted once', () => {
    const det = new Detector(defaultDetectorSettings({ cooldownSeconds: 300 }));
    const alerts = [1, 3, 5, 7, 9].flatMap((seq, i) => det.onReading(reading(i * 5, seq), 0));
    expect(alerts).toHaveLength(1);
    expect(det.metrics.seqGaps).toBe(4);
    expect(det.metrics.suppressedCooldown).toBe(3);
  });

  it('does not judge a gap against a reading older than the memory', () => {
    const state = new SequenceState();
    expect(observeSequence(state, 0, 1, 60 * S)).toBe(SequenceOutcome.First);
    expect(observeSequence(state, 61 * S, 50, 60 * S)).toBe(SequenceOutcome.First);
    expect(observeSequence(state, 62 * S, 52, 60 * S)).toBe(SequenceOutcome.Gap);
    expect(state.missing).toBe(1);
  });

  it('readings without seq are not judged', () => {
    const det = new Detector(defaultDetectorSettings());
    const alerts = [1, null, 5, null].flatMap((seq, i) => det.onReading(reading(i * 5, seq), 0));
    expect(alerts).toHaveLength(1); // 1 → 5 across the unnumbered reading
  });
});
