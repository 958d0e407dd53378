import { MqttClient } from 'mqtt';
import { DLQ_HEADERS } from '../lib/dlq';
import { Reading } from '../schemas';
import { createTestTopics, header, readTopic, telemetryCodec, TestTopics } from '../testkit/kafka';
import { connectPublisher, publishQos1, testMqttTopics } from '../testkit/mqtt';
import { createMigratedDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

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
      { topic: mqttTopics.shared, body: '42', reason: 'not_an_object' },
      { topic: mqttTopics.shared, body: '[]', reason: 'empty_batch' },
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
    // Records of messages in flight at the kill reach Kafka twice (redelivered): wait for every
    // distinct reading, not for a count that duplicates can fill before the tail arrives.
    const seen = new Set<number>();
    let decoded = 0;
    const distinct = (messages: readonly { value: Buffer | null }[]) => {
      for (; decoded < messages.length; decoded++) seen.add((codec.decode(messages[decoded].value) as Reading).seq!);
      return seen.size >= total;
    };
    // On a timeout the assertion below names what is missing.
    await readTopic(topics.telemetry, total, 120000, distinct).catch(() => undefined);
    const missing = [...acked].filter((seq) => !seen.has(seq));
    expect(missing).toEqual([]);
  });

  it('takes a gateway batch element by element: the good ones land, each bad one is dead-lettered with its index and reason', async () => {
    const bridge = await startBridge();
    const elements = [
      payload('gw-1', 1),
      payload('gw-2', 2, { humidity: 140 }),
      '"not a reading"',
      payload('gw-3', 3),
      payload("gw'; DROP TABLE x;--", 4),
      payload('gw-4', 5, { timestamp: NOW_S + 86400 }),
      payload('gw-5', 6),
    ];
    await publishQos1(publisher, mqttTopics.shared, `[${elements.join(', ')}]`);
    // On a per-device topic every element must be that device's.
    const ownTopic = mqttTopics.device('gw-6');
    const own = [payload('gw-6', 7), payload('gw-7', 8), JSON.stringify({ battery: 50, timestamp: NOW_S - 10, seq: 9 })];
    await publishQos1(publisher, ownTopic, `[${own.join(',')}]`);

    const expectedDead = [
      { index: 1, reason: 'out_of_range', body: elements[1], topic: mqttTopics.shared },
      { index: 2, reason: 'not_an_object', body: elements[2], topic: mqttTopics.shared },
      { index: 4, reason: 'invalid_device_id', body: elements[4], topic: mqttTopics.shared },
      { index: 5, reason: 'timestamp_in_future', body: elements[5], topic: mqttTopics.shared },
      { index: 1, reason: 'topic_mismatch', body: own[1], topic: ownTopic },
    ];
    const dead = await readTopic(topics.dlq, expectedDead.length);
    const letters = dead.map((m) => ({
      index: Number(header(m, DLQ_HEADERS.index)),
      reason: header(m, DLQ_HEADERS.reason),
      body: m.value?.toString(),
      topic: header(m, DLQ_HEADERS.source)?.replace(/^mqtt:/, ''),
    }));
    const order = (l: { topic?: string; index: number }) => `${l.topic} ${l.index}`;
    expect(letters.sort((a, b) => order(a).localeCompare(order(b)))).toEqual(expectedDead.sort((a, b) => order(a).localeCompare(order(b))));
    for (const m of dead) expect(header(m, DLQ_HEADERS.detail)).toMatch(new RegExp(`^element ${header(m, DLQ_HEADERS.index)}: `));

    const codec = await telemetryCodec(topics.telemetry);
    const good = (await readTopic(topics.telemetry, 5)).map((m) => codec.decode(m.value) as Reading);
    expect(good.map((r) => `${r.device_id}#${r.seq}`).sort()).toEqual(['gw-1#1', 'gw-3#3', 'gw-5#6', 'gw-6#7', 'gw-6#9']);
    expect(await bridge.metricValue('iot_bridge_readings_produced_total')).toBe(5);
    expect(await bridge.metricValue('iot_bridge_messages_rejected_total')).toBe(5);
    expect(await bridge.metricValue('iot_bridge_messages_received_total')).toBe(2);
  });

  it('a bridge killed with SIGKILL mid-batch loses nothing and doubles nothing in the table', async () => {
    const db = await createMigratedDatabase('bridge_batch');
    try {
      // Small produce requests, so that one batch spans several and a kill lands between them.
      const env = { BRIDGE_MAX_BATCH: '16' };
      await startBridge(env);
      const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: `writer-${topics.telemetry}` });
      running.push(writer);
      const batches = 300;
      const size = 40;
      const acked = new Set<number>();
      let restarted: Promise<ServiceProcess> | undefined;
      const sends: Promise<void>[] = [];
      for (let b = 0; b < batches; b++) {
        const body = `[${Array.from({ length: size }, (_, i) => {
          const seq = b * size + i;
          return payload(`gw-${i % 8}`, seq, { timestamp: NOW_S - 20000 + seq });
        }).join(',')}]`;
        sends.push(publishQos1(publisher, mqttTopics.shared, body).then(() => void acked.add(b)));
        if (b % 20 === 19) await Promise.all(sends.slice(-20));
        if (restarted === undefined && acked.size >= batches / 3) {
          await running[0].kill('SIGKILL');
          restarted = startBridge(env);
        }
      }
      await Promise.all(sends);
      await restarted;
      expect(restarted).toBeDefined();
      expect(acked.size).toBe(batches);

      const total = batches * size;
      const count = async () =>
        (
          await db.pool.query<{ rows: number; identities: number; times: number }>(
            'SELECT count(*)::int AS rows, count(DISTINCT (device_id, time))::int AS identities, count(DISTINCT time)::int AS times FROM device_telemetry',
          )
        ).rows[0];
      await waitUntil(`${total} rows`, async () => (await count()).rows >= total, 120000);
      expect(await count()).toEqual({ rows: total, identities: total, times: total });
    } finally {
      await db.drop();
    }
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
