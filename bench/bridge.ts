import type { MqttClient } from 'mqtt';
import { createTestTopics, recordCount, telemetryCodec, testKafka } from '../testkit/kafka';
import { connectPublisher, testMqttTopics } from '../testkit/mqtt';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';
import { deleteTopics, fleetSample } from './fixtures';
import { cpuProfileEnv, profileDir, profileNotes, summariseDir } from './profile';
import { Benchmark, BenchContext, BenchResult, numberFlag, ratio } from './report';

/** Publishes `payloads` at QoS 1 with at most `window` awaiting PUBACK; resolves when all are acknowledged. */
function publishAll(client: MqttClient, topic: string, payloads: readonly string[], window: number, onAck: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let acked = 0;
    const pump = () => {
      while (next < payloads.length && next - acked < window) {
        client.publish(topic, payloads[next++], { qos: 1 }, (err) => {
          if (err) return reject(err);
          acked++;
          onAck();
          if (acked === payloads.length) resolve();
          else pump();
        });
      }
    };
    if (payloads.length === 0) resolve();
    else pump();
  });
}

async function run({ flags, progress }: BenchContext): Promise<BenchResult> {
  const messages = numberFlag(flags, 'messages', 100_000);
  const devices = numberFlag(flags, 'devices', 1000);
  const publishers = numberFlag(flags, 'publishers', 4);
  const window = numberFlag(flags, 'window', 1000);
  const partitions = numberFlag(flags, 'partitions', 6);
  const maxBatch = numberFlag(flags, 'max-batch', 5000);
  const profile = flags.profile === true;

  progress.phase(`generating ${messages} payloads`);
  const { payloads, readings } = fleetSample(messages, devices);

  // The baseline: a plain KafkaJS producer, the bridge's records already Avro-encoded, acks=all,
  // batches of the bridge's maxBatch one at a time (the bridge's default, 1 in flight). Run
  // before and after the bridge, each into a fresh topic, so load drift shows in the spread.
  const baseTopics: string[] = [];
  const kafkaBaseline = async (): Promise<number> => {
    const base = await createTestTopics('bench-kafka', partitions);
    baseTopics.push(base.telemetry, base.alerts, base.dlq);
    const codec = await telemetryCodec(base.telemetry);
    const encoded = readings.map((r) => ({ key: r.device_id, value: codec.encode(r) }));
    const producer = testKafka().producer();
    await producer.connect();
    let sent = 0;
    progress.phase('baseline: KafkaJS producer', () => `${sent}/${messages}`);
    const started = performance.now();
    for (let i = 0; i < encoded.length; i += maxBatch) {
      await producer.send({ topic: base.telemetry, acks: -1, messages: encoded.slice(i, i + maxBatch) });
      sent = Math.min(encoded.length, i + maxBatch);
    }
    const rate = messages / ((performance.now() - started) / 1000);
    await producer.disconnect();
    return rate;
  };
  const kafkaRates = [await kafkaBaseline()];

  const topics = await createTestTopics('bench-bridge', partitions);
  const mqttTopics = testMqttTopics();
  const profDir = profile ? profileDir('bridge') : undefined;
  const bridgeEnv = { ...topics.env, ...mqttTopics.env, BRIDGE_MAX_BATCH: String(maxBatch) };
  const clients: MqttClient[] = [];
  const publishEverything = async (onAck: () => void) => {
    const shares = clients.map((_, p) => payloads.filter((_x, i) => i % publishers === p));
    await Promise.all(clients.map((c, p) => publishAll(c, mqttTopics.shared, shares[p], window, onAck)));
  };
  /** Waits until `bridge` has produced every message; seconds from `since` (default: its first record). */
  const drained = async (bridge: ServiceProcess, since?: number): Promise<number> => {
    let produced = 0;
    const reported = () => `in Kafka ${produced}/${messages}`;
    progress.phase('bridge producing', reported);
    if (since === undefined) {
      await waitUntil(
        'first record produced',
        async () => (produced = await bridge.metricValue('iot_bridge_readings_produced_total')) > 0,
        120_000,
        20,
      );
    }
    const from = since ?? performance.now();
    const first = since === undefined ? produced : 0;
    await waitUntil(
      `${messages} produced`,
      async () => (produced = await bridge.metricValue('iot_bridge_readings_produced_total')) >= messages,
      600_000,
      200,
    );
    return (messages - first) / ((performance.now() - from) / 1000);
  };
  let liveRate: number;
  let queuedRate: number;
  let publishSeconds = 0;
  let acked = 0;
  let inKafka: number;
  const histograms: Record<string, number> = {};
  // 1. Live: the publishers send through a running bridge (both on the same 2 cores).
  const live = new ServiceProcess('bridge', [], bridgeEnv);
  let queued: ServiceProcess | undefined;
  try {
    progress.phase('bridge starting');
    await live.waitForLog(/bridge running/);
    for (let p = 0; p < publishers; p++) clients.push(await connectPublisher());
    progress.phase('publishing through the bridge', () => `acked by broker ${acked}/${messages}`);
    const started = performance.now();
    const published = publishEverything(() => acked++).then(() => (publishSeconds = (performance.now() - started) / 1000));
    liveRate = await drained(live, started);
    await published;
    // 2. Queued: the bridge stopped (its session stays), the same messages published again and
    // held by Mosquitto for it, then a bridge with the same client id drains them: its own rate,
    // with no publisher competing for the CPU.
    await live.kill('SIGTERM');
    acked = 0;
    progress.phase('publishing for the stopped bridge', () => `queued by broker ${acked}/${messages}`);
    await publishEverything(() => acked++);
    queued = new ServiceProcess('bridge', [], { ...bridgeEnv, ...(profDir ? cpuProfileEnv(profDir) : {}) });
    queuedRate = await drained(queued);
    // The bridge's own view of its produce requests: records per request and how long one takes.
    for (const h of ['iot_bridge_produce_batch_records', 'iot_bridge_produce_seconds']) {
      histograms[h] = (await queued.metricValue(`${h}_sum`)) / (await queued.metricValue(`${h}_count`));
    }
    const admin = testKafka().admin();
    await admin.connect();
    inKafka = await recordCount(admin, topics.telemetry).finally(() => admin.disconnect());
    if (inKafka < 2 * messages) throw new Error(`only ${inKafka} records in Kafka, expected ${2 * messages}`);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
    await live.kill('SIGTERM');
    await queued?.kill('SIGTERM');
  }
  kafkaRates.push(await kafkaBaseline());
  await deleteTopics([...baseTopics, topics.telemetry, topics.alerts, topics.dlq]);

  const kafkaRate = kafkaRates.reduce((a, b) => a + b) / kafkaRates.length;
  return {
    params: { messages, devices, publishers, window, partitions, maxBatch, profile },
    figures: [
      {
        metric: 'bridge: queued in Mosquitto → Kafka',
        value: queuedRate,
        unit: 'msg/s',
        baseline: kafkaRate,
        ratio: ratio(queuedRate, kafkaRate),
      },
      {
        metric: 'bridge: live, publishers on the same cores',
        value: liveRate,
        unit: 'msg/s',
        baseline: kafkaRate,
        ratio: ratio(liveRate, kafkaRate),
      },
      { metric: 'KafkaJS producer, same records (baseline)', value: kafkaRate, unit: 'msg/s' },
      { metric: 'MQTT publish, PUBACKed by the broker (live)', value: messages / publishSeconds, unit: 'msg/s' },
      { metric: 'bridge: mean records per produce request', value: histograms.iot_bridge_produce_batch_records, unit: 'records' },
      { metric: 'bridge: mean produce request (acks=all)', value: histograms.iot_bridge_produce_seconds * 1000, unit: 'ms' },
    ],
    notes: [
      `${publishers} MQTT.js publishers (QoS 1, MQTT 3.1.1, ${window} in flight each) on the shared topic; the bridge (its defaults: MQTT 5, Receive Maximum 2000, one produce request in flight, maxBatch ${maxBatch}) runs as its own process, its produced count polled every 200 ms (a scrape costs the bridge CPU).`,
      `Queued: the bridge stopped, ${messages} messages queued by Mosquitto for its session, then a new bridge with the same client id timed from its first produced record to the last. Live: timed from the first publish, while the publishers (in the benchmark process) compete with the bridge, Mosquitto and Kafka for the 2 cores. Records in the topic afterwards: ${inKafka} of ${2 * messages} sent (more would be redeliveries).`,
      `KafkaJS baseline before / after the bridge: ${kafkaRates.map((r) => r.toFixed(0)).join(' / ')} msg/s (the figure is their mean); it has no MQTT, JSON or validation in it.`,
      ...(profDir ? profileNotes('bridge', summariseDir(profDir)) : []),
    ],
    detail: { liveRate, queuedRate, publishSeconds, inKafka, histograms, kafkaRates },
  };
}

export const bridgeBench: Benchmark = {
  name: 'bridge',
  about: 'MQTT in → Kafka out rate of the bridge vs a plain KafkaJS producer (--messages 100000 --publishers 4 --profile)',
  run,
};
