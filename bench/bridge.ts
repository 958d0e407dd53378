import type { MqttClient } from 'mqtt';
import { createTestTopics, telemetryCodec, testKafka } from '../test/support/kafka';
import { connectPublisher, testMqttTopics } from '../test/support/mqtt';
import { ServiceProcess } from '../test/support/service-process';
import { waitUntil } from '../test/support/wait';
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

async function topicRecords(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
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
  const bridge = new ServiceProcess('bridge', [], {
    ...topics.env,
    ...mqttTopics.env,
    BRIDGE_MAX_BATCH: String(maxBatch),
    ...(profDir ? cpuProfileEnv(profDir) : {}),
  });
  const clients: MqttClient[] = [];
  let bridgeSeconds: number;
  let publishSeconds = 0;
  let produced = 0;
  let acked = 0;
  let inKafka: number;
  const histograms: Record<string, number> = {};
  try {
    progress.phase('bridge starting');
    await bridge.waitForLog(/bridge running/);
    for (let p = 0; p < publishers; p++) clients.push(await connectPublisher());
    progress.phase('publishing through the bridge', () => `acked by broker ${acked}, in Kafka ${produced}/${messages}`);
    const started = performance.now();
    const shares = clients.map((_, p) => payloads.filter((_x, i) => i % publishers === p));
    const published = Promise.all(clients.map((c, p) => publishAll(c, mqttTopics.shared, shares[p], window, () => acked++))).then(
      () => (publishSeconds = (performance.now() - started) / 1000),
    );
    await waitUntil(
      `${messages} produced`,
      async () => (produced = await bridge.metricValue('iot_bridge_readings_produced_total')) >= messages,
      600_000,
      200,
    );
    bridgeSeconds = (performance.now() - started) / 1000;
    await published;
    // The bridge's own view of its produce requests: records per request and how long one takes.
    for (const h of ['iot_bridge_produce_batch_records', 'iot_bridge_produce_seconds']) {
      histograms[h] = (await bridge.metricValue(`${h}_sum`)) / (await bridge.metricValue(`${h}_count`));
    }
    inKafka = await topicRecords(topics.telemetry);
    if (inKafka < messages) throw new Error(`only ${inKafka} records in Kafka, expected ${messages}`);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
    await bridge.kill('SIGTERM');
  }
  kafkaRates.push(await kafkaBaseline());
  await deleteTopics([...baseTopics, topics.telemetry, topics.alerts, topics.dlq]);

  const bridgeRate = messages / bridgeSeconds;
  const kafkaRate = kafkaRates.reduce((a, b) => a + b) / kafkaRates.length;
  return {
    params: { messages, devices, publishers, window, partitions, maxBatch, profile },
    figures: [
      { metric: 'bridge: MQTT QoS1 in → Kafka out', value: bridgeRate, unit: 'msg/s', baseline: kafkaRate, ratio: ratio(bridgeRate, kafkaRate) },
      { metric: 'KafkaJS producer, same records (baseline)', value: kafkaRate, unit: 'msg/s' },
      { metric: 'MQTT publish, PUBACKed by the broker', value: messages / publishSeconds, unit: 'msg/s' },
      { metric: 'bridge: mean records per produce request', value: histograms.iot_bridge_produce_batch_records, unit: 'records' },
      { metric: 'bridge: mean produce request (acks=all)', value: histograms.iot_bridge_produce_seconds * 1000, unit: 'ms' },
    ],
    notes: [
      `${publishers} MQTT.js publishers (QoS 1, MQTT 3.1.1, ${window} in flight each) on the shared topic; the bridge (its defaults: MQTT 5, Receive Maximum 2000, one produce request in flight, maxBatch ${maxBatch}) runs as its own process; timed from the first publish until iot_bridge_readings_produced_total = ${messages} (polled every 200 ms; a scrape costs the bridge CPU). Records in the topic afterwards: ${inKafka} (more than sent would be redeliveries).`,
      `KafkaJS baseline before / after the bridge: ${kafkaRates.map((r) => r.toFixed(0)).join(' / ')} msg/s (the figure is their mean).`,
      'The publishers run in the benchmark process on the same 2 cores as the bridge, Mosquitto and Kafka: the bridge figure includes that competition, the baseline does not have MQTT in it at all.',
      ...(profDir ? profileNotes('bridge', summariseDir(profDir)) : []),
    ],
    detail: { bridgeSeconds, publishSeconds, inKafka, histograms, kafkaRates },
  };
}

export const bridgeBench: Benchmark = {
  name: 'bridge',
  about: 'MQTT in → Kafka out rate of the bridge vs a plain KafkaJS producer (--messages 100000 --publishers 4 --profile)',
  run,
};
