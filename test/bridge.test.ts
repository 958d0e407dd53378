import { MqttClient } from 'mqtt';
import { DLQ_HEADERS } from '../lib/dlq';
import { Reading } from '../schemas';
import { createTestTopics, header, readTopic, telemetryCodec, TestTopics } from '../testkit/kafka';
import { connectPublisher, publishQos1, testMqttTopics } from '../testkit/mqtt';
import { ServiceProcess } from '../testkit/service-process';

const NOW_S = Math.floor(Date.now() / 1000);

function payload(device: string, seq: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    device_id: device,
    firmware: '1.0.0',
    temperature: 21.5,
    humidity: 40,
    battery: 77,
    timestamp: NOW_S - 3600 + seq,
    seq,
    ...extra,
  });
}

describe('bridge', () => {
  let topics: TestTopics;
  let mqttTopics: ReturnType<typeof testMqttTopics>;
  let publisher: MqttClient;
  const running: ServiceProcess[] = [];

  async function startBridge(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const bridge = new ServiceProcess('bridge', [], { ...topics.env, ...mqttTopics.env, ...env });
    running.push(bridge);
    await bridge.waitForLog(/bridge running/);
    return bridge;
  }

  beforeEach(async () => {
    topics = await createTestTopics('bridge');
    mqttTopics = testMqttTopics();
    publisher = await connectPublisher();
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await publisher.endAsync();
  });

  it('dead-letters each malformed payload with a specific reason, and every good one between them lands', async () => {
    const bridge = await startBridge();
    const bad: { topic: string; body: string; reason: string }[] = [
      { topic: mqttTopics.shared, body: '{not json', reason: 'invalid_json' },
      { topic: mqttTopics.shared, body: '[1,2]', reason: 'not_an_object' },
      { topic: mqttTopics.shared, body: payload('dev-a', 1, { temperature: 'hot' }), reason: 'wrong_type' },
      { topic: mqttTopics.shared, body: payload('dev-a', 2, { humidity: 140 }), reason: 'out_of_range' },
      { topic: mqttTopics.shared, body: JSON.stringify({ temperature: 20, timestamp: NOW_S }), reason: 'missing_field' },
      { topic: mqttTopics.shared, body: payload("dev'; DROP TABLE x;--", 3), reason: 'invalid_device_id' },
      { topic: mqttTopics.device('dev-b'), body: payload('dev-c', 4), reason: 'topic_mismatch' },
      { topic: mqttTopics.shared, body: payload('dev-a', 5, { timestamp: NOW_S + 86400 }), reason: 'timestamp_in_future' },
    ];
    for (let i = 0; i < bad.length; i++) {
      await publishQos1(publisher, mqttTopics.shared, payload('dev-good', 100 + i));
      await publishQos1(publisher, bad[i].topic, bad[i].body);
    }
    await publishQos1(publisher, mqttTopics.device('dev-b'), payload('dev-b', 200));

    const dead = await readTopic(topics.dlq, bad.length);
    expect(dead.map((m) => header(m, DLQ_HEADERS.reason)).sort()).toEqual(bad.map((b) => b.reason).sort());
    for (const b of bad) {
      const message = dead.find((m) => m.value?.toString() === b.body)!;
      expect(header(message, DLQ_HEADERS.reason)).toBe(b.reason);
      expect(header(message, DLQ_HEADERS.source)).toBe(`mqtt:${b.topic}`);
      expect(header(message, DLQ_HEADERS.detail)).toBeTruthy();
    }

    const codec = await telemetryCodec(topics.telemetry);
    const good = await readTopic(topics.telemetry, bad.length + 1);
    const readings = good.map((m) => codec.decode(m.value));
    expect(
      readings
        .filter((r) => r.device_id === 'dev-good')
        .map((r) => r.seq)
        .sort(),
    ).toEqual(bad.map((_, i) => 100 + i));
    expect(readings.find((r) => r.device_id === 'dev-b')?.seq).toBe(200);

    expect(await bridge.metricValue('iot_bridge_messages_rejected_total')).toBe(bad.length);
    expect(await bridge.metricValue('iot_bridge_readings_produced_total')).toBe(bad.length + 1);
    expect(await bridge.metricValue('iot_bridge_messages_rejected_total', { reason: 'topic_mismatch' })).toBe(1);
  });

  it('loses no acknowledged message when killed with SIGKILL mid-stream', async () => {
    await startBridge();
    const total = 3000;
    const acked = new Set<number>();
    let killed = false;
    let restarted: Promise<ServiceProcess> | undefined;
    const sends: Promise<void>[] = [];
    for (let seq = 0; seq < total; seq++) {
      sends.push(publishQos1(publisher, mqttTopics.shared, payload(`dev-${seq % 10}`, seq)).then(() => void acked.add(seq)));
      if (seq % 200 === 199) await Promise.all(sends.slice(-200));
      if (!killed && acked.size >= total / 3) {
        killed = true;
        await running[0].kill('SIGKILL');
        restarted = startBridge();
      }
    }
    await Promise.all(sends);
    await restarted;
    expect(killed).toBe(true);
    expect(acked.size).toBe(total);

    const codec = await telemetryCodec(topics.telemetry);
    const seen = new Set<number>();
    const messages = await readTopic(topics.telemetry, total, 120000);
    for (const m of messages) seen.add((codec.decode(m.value) as Reading).seq!);
    const missing = [...acked].filter((seq) => !seen.has(seq));
    expect(missing).toEqual([]);
  });

  it('scales out: two bridges in one share group split the stream, together deliver all, none twice', async () => {
    const group = { BRIDGE_SHARE_GROUP: mqttTopics.shareGroup };
    const bridges = [
      await startBridge({ ...group, BRIDGE_CLIENT_ID: `${mqttTopics.shareGroup}-a` }),
      await startBridge({ ...group, BRIDGE_CLIENT_ID: `${mqttTopics.shareGroup}-b` }),
    ];
    const total = 2000;
    await Promise.all(
      Array.from({ length: total }, (_, seq) => publishQos1(publisher, mqttTopics.shared, payload(`dev-${seq % 20}`, seq))),
    );

    const codec = await telemetryCodec(topics.telemetry);
    const messages = await readTopic(topics.telemetry, total, 120000);
    const seqs = messages.map((m) => (codec.decode(m.value) as Reading).seq!);
    expect(new Set(seqs).size).toBe(total);
    expect(seqs.length).toBe(total);
    const shares = await Promise.all(bridges.map((b) => b.metricValue('iot_bridge_readings_produced_total')));
    expect(shares[0] + shares[1]).toBe(total);
    // Mosquitto deals a shared subscription's messages round-robin: both take a real part.
    for (const share of shares) expect(share).toBeGreaterThan(total / 4);
  });
});
