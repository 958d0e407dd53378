import { Detector } from '../detector/detector';
import { detect, falseAlertsPerDeviceHour, NORMAL_DATA, simulateReadings, spikeRecall, SPIKES_5_SIGMA } from '../detector/evaluation';
import { defaultDetectorSettings } from '../detector/settings';
import type { Reading } from '../schemas';
import { createTestTopics, groupLag, produceReadings, telemetryCodec, testKafka, uniqueName } from '../test/support/kafka';
import { ServiceProcess } from '../test/support/service-process';
import { waitUntil } from '../test/support/wait';
import { BENCH_SEED, deleteTopics } from './fixtures';
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
 * them, in the same run. Both are timed from start-up to the group committing the last offset
 * (the baseline: to its last record), start-up included for both.
 */
async function throughKafka(readings: readonly Reading[], progress: Progress): Promise<{ detector: number; baseline: number }> {
  const topics = await createTestTopics('bench-detector', 6);
  const codec = await telemetryCodec(topics.telemetry);
  const producer = testKafka().producer();
  const admin = testKafka().admin();
  await Promise.all([producer.connect(), admin.connect()]);
  try {
    progress.phase(`producing ${readings.length} readings`);
    const ingested = Date.now();
    await produceReadings(producer, topics.telemetry, codec, readings.map((r) => ({ ...r, ingested_at: ingested })));

    progress.phase('baseline: a consumer that only decodes');
    const consumer = testKafka().consumer({ groupId: uniqueName('bench-decode') });
    let seen = 0;
    const baseStarted = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topic: topics.telemetry, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        await codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) codec.decode(m.value);
        seen += batch.messages.length;
      },
    });
    await waitUntil('the baseline consumer to read every record', () => seen >= readings.length, 300000, 20);
    const baseSeconds = (performance.now() - baseStarted) / 1000;
    await consumer.disconnect();

    progress.phase('the detector service');
    const groupId = uniqueName('bench-detector');
    const detStarted = performance.now();
    const detector = new ServiceProcess('detector', [], { ...topics.env, DETECTOR_GROUP_ID: groupId, LOG_LEVEL: 'warn' });
    try {
      await waitUntil('the detector to commit every offset', async () => (await groupLag(admin, groupId, topics.telemetry)) === 0, 300000, 20);
    } catch (err) {
      throw new Error(`${(err as Error).message}; detector output:\n${detector.tail()}`);
    } finally {
      await detector.kill('SIGTERM');
    }
    const detSeconds = (performance.now() - detStarted) / 1000;
    return { detector: readings.length / detSeconds, baseline: readings.length / baseSeconds };
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
  const recall = spikeRecall(detect(spiky.readings), spiky.events);

  const kafkaFigures: Figure[] = [];
  if (flags['no-kafka'] !== true) {
    const k = await throughKafka(readings, progress);
    kafkaFigures.push(
      { metric: 'detector service through Kafka', value: k.detector, unit: 'readings/s', baseline: k.baseline, ratio: ratio(k.detector, k.baseline) },
      { metric: 'decode-only consumer (baseline)', value: k.baseline, unit: 'readings/s' },
    );
  }

  return {
    params: { devices, hours, repeats, qualityHours, readings: readings.length, seed: BENCH_SEED },
    figures: [
      { metric: 'Detector.onReading', value: detRate, unit: 'readings/s', baseline: baseRate, ratio: ratio(detRate, baseRate) },
      { metric: 'touch-each-reading loop (baseline)', value: baseRate, unit: 'readings/s' },
      ...kafkaFigures,
      { metric: 'recall, 5σ spikes', value: recall.recall, unit: `of ${recall.spikes}`, target: '>= 0.95', ok: recall.recall >= 0.95 },
      { metric: 'false alerts, normal data', value: falseRate, unit: 'per device-hour', target: '<= 0.1', ok: falseRate <= 0.1 },
    ],
    notes: [
      `Throughput: ${readings.length} readings of a seeded simulator fleet (${devices} devices × ${hours} h, one per 5 s, default anomalies and dropouts), pre-built in memory, fed to a fresh Detector per repeat; median of ${repeats} repeats, interleaved with the baseline loop.`,
      'Through Kafka (skip with --no-kafka): the same readings on a fresh 6-partition topic; the detector service (its own process: decode, judge, produce alerts, commit) and a decode-only KafkaJS consumer, each timed from start-up until it has everything.',
      `Quality: scored as detector/evaluation.test.ts does (detector/evaluation.ts), on ${devices} devices × ${qualityHours} h per fleet; low_battery alerts are real and not counted as false. Spikes found: ${recall.found}/${recall.spikes}.`,
    ],
    detail: { detSeconds, baseSeconds, sink },
  };
}

export const detectorBench: Benchmark = {
  name: 'detector',
  about: 'readings/s through Detector.onReading vs a touch-only loop and through Kafka vs a decode-only consumer, plus recall and false alerts (--devices 100 --hours 1 --quality-hours 6 --no-kafka)',
  run,
};
