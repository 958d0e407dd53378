import { Detector } from '../detector/detector';
import { detect, falseAlertsPerDeviceHour, NORMAL_DATA, simulateReadings, SPIKES_5_SIGMA } from '../testkit/evaluation';
import { recallByKind, silenceJudgedAfterSeconds } from '../detector/recall';
import { defaultDetectorSettings } from '../detector/settings';
import type { Reading } from '../schemas';
import { createTestTopics, groupLag, produceReadings, telemetryCodec, testKafka, uniqueName } from '../testkit/kafka';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';
import { BENCH_SEED, deleteTopics } from './fixtures';
import { cpuProfileEnv, profileDir, profileNotes, summariseDir, type ProfileSummary } from './profile';
import { Benchmark, BenchContext, BenchResult, Figure, median, numberFlag, Progress, ratio } from './report';

/** The baseline: touch every reading once (sum its fields), nothing else. */
function touchAll(readings: readonly Reading[]): number {
  let sum = 0;
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i];
    sum += r.time + (r.temperature ?? 0) + (r.humidity ?? 0) + (r.battery ?? 0) + (r.seq ?? 0) + r.device_id.length;
  }
  return sum;
}

function feed(readings: readonly Reading[]): number {
  const det = new Detector(defaultDetectorSettings());
  let alerts = 0;
  for (let i = 0; i < readings.length; i++) alerts += det.onReading(readings[i], 0).length;
  return alerts;
}

/** Seconds one call takes (the caller interleaves detector and baseline and takes medians). */
function timed(fn: () => number): { seconds: number; result: number } {
  const started = performance.now();
  const result = fn();
  return { seconds: (performance.now() - started) / 1000, result };
}

/**
 * Through Kafka: the same readings on a fresh topic, drained by the real detector service
 * (decode, judge, produce alerts, commit) against a plain KafkaJS consumer that only decodes
 * them, in the same run. Each is timed from its first record to the last (the detector: its
 * first accepted reading, seen on /metrics, to the group committing the last offset), and its
 * start-up (process, group join) is reported apart: on 70k readings it would otherwise be most
 * of the time.
 */
interface Drain {
  perSecond: number;
  startupSeconds: number;
}

async function throughKafka(
  readings: readonly Reading[],
  progress: Progress,
  profile: boolean,
): Promise<{ detector: Drain; baseline: Drain; profile?: ProfileSummary }> {
  const topics = await createTestTopics('bench-detector', 6);
  const codec = await telemetryCodec(topics.telemetry);
  const producer = testKafka().producer();
  const admin = testKafka().admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const drain = (started: number, first: number, last: number): Drain => ({
    perSecond: readings.length / ((last - first) / 1000),
    startupSeconds: (first - started) / 1000,
  });
  try {
    progress.phase(`producing ${readings.length} readings`);
    const ingested = Date.now();
    await produceReadings(
      producer,
      topics.telemetry,
      codec,
      readings.map((r) => ({ ...r, ingested_at: ingested })),
    );

    progress.phase('baseline: a consumer that only decodes');
    const consumer = testKafka().consumer({ groupId: uniqueName('bench-decode') });
    let seen = 0;
    let baseFirst = 0;
    const baseStarted = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topic: topics.telemetry, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (baseFirst === 0) baseFirst = performance.now();
        await codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) codec.decode(m.value);
        seen += batch.messages.length;
      },
    });
    await waitUntil('the baseline consumer to read every record', () => seen >= readings.length, 300000, 20);
    const baseline = drain(baseStarted, baseFirst, performance.now());
    await consumer.disconnect();

    progress.phase('the detector service');
    const groupId = uniqueName('bench-detector');
    const detStarted = performance.now();
    let detFirst = 0;
    let detectorDrain: Drain = { perSecond: Number.NaN, startupSeconds: Number.NaN };
    const profDir = profile ? profileDir('detector') : undefined;
    // Logging at info: the metrics port is read from the start-up line.
    const detector = new ServiceProcess('detector', [], {
      ...topics.env,
      DETECTOR_GROUP_ID: groupId,
      ...(profDir ? cpuProfileEnv(profDir) : {}),
    });
    try {
      await waitUntil(
        "the detector's first reading",
        async () => {
          if (detector.metricsPort > 0 && (await detector.metricValue('iot_detector_readings_total')) > 0) detFirst = performance.now();
          return detFirst;
        },
        300000,
        10,
      );
      await waitUntil(
        'the detector to commit every offset',
        async () => (await groupLag(admin, groupId, topics.telemetry)) === 0,
        300000,
        20,
      );
      // Timed here, not after the kill: a graceful stop waits out the consumer's fetch in flight.
      detectorDrain = drain(detStarted, detFirst, performance.now());
    } catch (err) {
      throw new Error(`${(err as Error).message}; detector output:\n${detector.tail()}`, { cause: err });
    } finally {
      await detector.kill('SIGTERM');
    }
    return { detector: detectorDrain, baseline, profile: profDir ? summariseDir(profDir) : undefined };
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await deleteTopics([topics.telemetry, topics.alerts, topics.dlq]);
  }
}

async function run({ flags, progress }: BenchContext): Promise<BenchResult> {
  const devices = numberFlag(flags, 'devices', 100);
  const hours = numberFlag(flags, 'hours', 1);
  const repeats = numberFlag(flags, 'repeats', 7);
  const qualityHours = numberFlag(flags, 'quality-hours', 6);

  progress.phase(`simulating ${devices} devices × ${hours} h`);
  const fleet = simulateReadings(devices, hours, BENCH_SEED, {});
  const readings = fleet.readings.map((r) => r.reading);

  // Interleaved, so a burst of load from other work hits both sides alike; medians over the repeats.
  const detSeconds: number[] = [];
  const baseSeconds: number[] = [];
  let sink = 0;
  for (let i = 0; i < repeats; i++) {
    progress.phase(`throughput, repeat ${i + 1}/${repeats}`);
    await new Promise((r) => setImmediate(r)); // let the progress line draw
    const d = timed(() => feed(readings));
    const b = timed(() => touchAll(readings));
    detSeconds.push(d.seconds);
    baseSeconds.push(b.seconds);
    sink += d.result + b.result;
  }
  const detRate = readings.length / median(detSeconds);
  const baseRate = readings.length / median(baseSeconds);

  progress.phase(`quality: normal data, ${devices} devices × ${qualityHours} h`);
  await new Promise((r) => setImmediate(r));
  const normal = simulateReadings(devices, qualityHours, BENCH_SEED + 1, NORMAL_DATA);
  const falseRate = falseAlertsPerDeviceHour(detect(normal.readings), devices, qualityHours);
  progress.phase(`quality: 5σ spikes, ${devices} devices × ${qualityHours} h`);
  await new Promise((r) => setImmediate(r));
  const spiky = simulateReadings(devices, qualityHours, BENCH_SEED + 2, SPIKES_5_SIGMA);
  const recall = recallByKind(detect(spiky.readings), spiky.events).spike;
  progress.phase(`quality: the default mix of anomalies and dropouts, ${devices} devices × ${qualityHours} h`);
  await new Promise((r) => setImmediate(r));
  const mixed = simulateReadings(devices, qualityHours, BENCH_SEED + 3, {});
  const byKind = recallByKind(detect(mixed.readings), mixed.events);
  const kindFigure = (label: string, k: { recall: number; events: number }): Figure => ({
    metric: `recall, ${label} (default mix)`,
    value: k.recall,
    unit: `of ${k.events}`,
  });

  const kafkaFigures: Figure[] = [];
  const kafkaNotes: string[] = [];
  if (flags['no-kafka'] !== true) {
    const k = await throughKafka(readings, progress, flags.profile === true);
    kafkaNotes.push(...(k.profile ? profileNotes('detector service', k.profile) : []));
    kafkaFigures.push(
      {
        metric: 'detector service through Kafka',
        value: k.detector.perSecond,
        unit: 'readings/s',
        baseline: k.baseline.perSecond,
        ratio: ratio(k.detector.perSecond, k.baseline.perSecond),
      },
      { metric: 'decode-only consumer (baseline)', value: k.baseline.perSecond, unit: 'readings/s' },
      { metric: 'detector service start-up, to its first reading', value: k.detector.startupSeconds, unit: 's' },
      { metric: 'decode-only consumer start-up (baseline)', value: k.baseline.startupSeconds, unit: 's' },
    );
  }

  return {
    params: { devices, hours, repeats, qualityHours, readings: readings.length, seed: BENCH_SEED },
    figures: [
      { metric: 'Detector.onReading', value: detRate, unit: 'readings/s', baseline: baseRate, ratio: ratio(detRate, baseRate) },
      { metric: 'touch-each-reading loop (baseline)', value: baseRate, unit: 'readings/s' },
      ...kafkaFigures,
      { metric: 'recall, 5σ spikes', value: recall.recall, unit: `of ${recall.events}`, target: '>= 0.95', ok: recall.recall >= 0.95 },
      { metric: 'false alerts, normal data', value: falseRate, unit: 'per device-hour', target: '<= 0.1', ok: falseRate <= 0.1 },
      kindFigure('6σ spikes', byKind.spike),
      kindFigure('stuck sensors', byKind.stuck),
      kindFigure('drifts, while they last', byKind.drift),
      kindFigure(`dropouts over ${silenceJudgedAfterSeconds()} s`, byKind.dropout),
    ],
    notes: [
      `Throughput: ${readings.length} readings of a seeded simulator fleet (${devices} devices × ${hours} h, one per 5 s, default anomalies and dropouts), pre-built in memory, fed to a fresh Detector per repeat; median of ${repeats} repeats, interleaved with the baseline loop.`,
      'Through Kafka (skip with --no-kafka): the same readings on a fresh 6-partition topic; the detector service (its own process: decode, judge, produce alerts, commit) and a decode-only KafkaJS consumer in this process, each timed from its first record until it has everything (the detector: until its group has committed the last offset); start-up apart.',
      `Quality: scored as testkit/evaluation.test.ts does (testkit/evaluation.ts), on ${devices} devices × ${qualityHours} h per fleet; low_battery alerts are real and not counted as false. Spikes found: ${recall.found}/${recall.events}.`,
      ...kafkaNotes,
      "Default mix: the simulator's defaults (6σ spikes, stuck sensors and 8σ drifts of 30 readings, dropouts); each kind judged by the alert that should tell of it (detector/recall.ts, recallByKind): an anomaly at the spike, a stuck_sensor alert (stuck) or an anomaly (drift) on the metric while it lasts, device_inactive for a dropout longer than the silence limit plus the allowed lateness and a tick.",
    ],
    detail: { detSeconds, baseSeconds, sink },
  };
}

export const detectorBench: Benchmark = {
  name: 'detector',
  about:
    'readings/s through Detector.onReading vs a touch-only loop and through Kafka vs a decode-only consumer, plus recall per anomaly kind and false alerts (--devices 100 --hours 1 --quality-hours 6 --no-kafka --profile)',
  run,
};
