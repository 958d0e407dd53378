import client from 'prom-client';
import type { MetricsRegistry } from '../lib/metrics';
import { newDetectorMetrics, type DetectorMetrics } from './metrics';

/** Label of iot_detector_readings_total for each plain counter of the detector logic. */
const READING_OUTCOMES = {
  accepted: 'readingsAccepted',
  duplicate: 'duplicates',
  late: 'lateReadings',
  future: 'futureRejected',
  invalid: 'invalidReadings',
} as const satisfies Record<string, keyof DetectorMetrics>;

const SUPPRESSED = {
  cooldown: 'suppressedCooldown',
  replay: 'suppressedReplay',
  duplicate: 'suppressedDuplicate',
} as const satisfies Record<string, keyof DetectorMetrics>;

const SEQUENCE = { gap: 'seqGaps', missing: 'seqMissing', repeat: 'seqRepeats', reset: 'seqResets' } as const satisfies Record<
  string,
  keyof DetectorMetrics
>;

/**
 * The service's Prometheus metrics. The detector logic keeps plain counters (no
 * prom-client on the hot path); they are folded in at scrape time. A new assignment
 * replaces the Detector, so the counters of the ones before it are carried in `retired`.
 */
export class DetectorPrometheus {
  readonly undecodable: client.Counter;
  readonly replayed: client.Counter;
  readonly replaySeconds: client.Histogram;
  readonly lag: client.Gauge<'topic' | 'partition'>;
  readonly eventTimeLag: client.Gauge;
  readonly devices: client.Gauge;
  readonly caughtUp: client.Gauge;
  readonly produceFailures: client.Counter;

  private readonly retired: DetectorMetrics[] = [];
  private current: DetectorMetrics | undefined;

  constructor(registry: MetricsRegistry) {
    const totals = () => this.totals();
    const syncCounter = counterSync();
    new client.Counter({
      name: 'iot_detector_readings_total',
      help: 'Readings the detector logic saw live, by outcome (accepted; duplicate, late, future-dated or invalid ones feed no rule)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const t = totals();
        for (const [outcome, key] of Object.entries(READING_OUTCOMES)) syncCounter(this, { outcome }, t[key]);
      },
    });
    new client.Counter({
      name: 'iot_detector_alerts_total',
      help: 'Alerts produced to the alerts topic, by kind',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        for (const [kind, n] of Object.entries(totals().alerts)) syncCounter(this, { kind }, n);
      },
    });
    new client.Counter({
      name: 'iot_detector_alerts_suppressed_total',
      help: 'Alert candidates withheld, by reason: cooldown, replay (history being rebuilt), duplicate (id already emitted)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        const t = totals();
        for (const [reason, key] of Object.entries(SUPPRESSED)) syncCounter(this, { reason }, t[key]);
      },
    });
    new client.Counter({
      name: 'iot_detector_sequence_total',
      help: 'Device sequence numbers: gaps, numbers missing in them, repeats, resets (all devices)',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        const t = totals();
        for (const [event, key] of Object.entries(SEQUENCE)) syncCounter(this, { event }, t[key]);
      },
    });
    new client.Counter({
      name: 'iot_detector_silence_checks_held_total',
      help: 'Silence checks skipped because the detector was behind (a backlog must not read as a silent fleet)',
      registers: [registry],
      collect() {
        syncCounter(this, {}, totals().silenceChecksHeld);
      },
    });
    this.undecodable = new client.Counter({
      name: 'iot_detector_undecodable_total',
      help: 'Records that are not valid Avro readings (skipped; the writer dead-letters them)',
      registers: [registry],
    });
    this.replayed = new client.Counter({
      name: 'iot_detector_replayed_readings_total',
      help: 'Readings re-read from Kafka to rebuild windows after an assignment',
      registers: [registry],
    });
    this.replaySeconds = new client.Histogram({
      name: 'iot_detector_replay_seconds',
      help: 'Time from an assignment until the detector is live again (history re-read, alerts recalled)',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.lag = new client.Gauge({
      name: 'iot_detector_consumer_lag',
      help: 'Records behind the partition high watermark',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    });
    this.eventTimeLag = new client.Gauge({
      name: 'iot_detector_event_time_lag_seconds',
      help: 'Wall clock minus the newest reading time seen',
      registers: [registry],
    });
    this.devices = new client.Gauge({ name: 'iot_detector_devices', help: 'Devices the detector holds state for', registers: [registry] });
    this.caughtUp = new client.Gauge({
      name: 'iot_detector_caught_up',
      help: '1 while the detector is within DETECTOR_CAUGHT_UP_LAG of every partition end (silence is judged), else 0',
      registers: [registry],
    });
    this.produceFailures = new client.Counter({
      name: 'iot_detector_produce_failures_total',
      help: 'Failed sends to the alerts topic (retried; offsets are committed only after a send succeeds)',
      registers: [registry],
    });
  }

  /** A new Detector took over (after an assignment); its counters start at zero. */
  follow(metrics: DetectorMetrics): void {
    if (this.current) this.retired.push(this.current);
    this.current = metrics;
  }

  private totals(): DetectorMetrics {
    const all = this.current ? [...this.retired, this.current] : this.retired;
    const sum = (key: Exclude<keyof DetectorMetrics, 'alerts'>) => all.reduce((n, m) => n + m[key], 0);
    const alerts = newDetectorMetrics().alerts;
    for (const m of all) for (const k of Object.keys(alerts) as (keyof typeof alerts)[]) alerts[k] += m.alerts[k];
    return {
      readingsAccepted: sum('readingsAccepted'),
      duplicates: sum('duplicates'),
      lateReadings: sum('lateReadings'),
      futureRejected: sum('futureRejected'),
      invalidReadings: sum('invalidReadings'),
      invalidValues: sum('invalidValues'),
      outliersKeptOut: sum('outliersKeptOut'),
      alerts,
      suppressedCooldown: sum('suppressedCooldown'),
      suppressedReplay: sum('suppressedReplay'),
      suppressedDuplicate: sum('suppressedDuplicate'),
      seqGaps: sum('seqGaps'),
      seqMissing: sum('seqMissing'),
      seqRepeats: sum('seqRepeats'),
      seqResets: sum('seqResets'),
      silenceChecksHeld: sum('silenceChecksHeld'),
      devicesForgotten: sum('devicesForgotten'),
    };
  }
}

/**
 * Raises prom-client counters to running totals kept elsewhere (counters only go up, and
 * so do ours): remembers what it reported per counter and labels, adds the difference.
 */
function counterSync(): (counter: client.Counter<string>, labels: client.LabelValues<string>, total: number) => void {
  const reported = new WeakMap<client.Counter<string>, Map<string, number>>();
  return (counter, labels, total) => {
    let series = reported.get(counter);
    if (series === undefined) reported.set(counter, (series = new Map()));
    const key = JSON.stringify(labels);
    const before = series.get(key);
    if (before === undefined || total > before) {
      // inc by 0 shows the series at zero before anything happened.
      counter.inc(labels, total - (before ?? 0));
      series.set(key, total);
    }
  };
}
