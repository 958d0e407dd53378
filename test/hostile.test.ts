import { MqttClient } from 'mqtt';
import { KafkaMessage } from 'kafkajs';
import { hostilePayloads } from '../testkit/hostile-payloads';
import { DEFAULT_READING_RULES, topicDevice } from '../bridge/reading';
import { DLQ_HEADERS } from '../lib/dlq';
import { createTestTopics, header, readTopic, TestTopics } from '../testkit/kafka';
import { connectPublisher, publishQos1, testMqttTopics } from '../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

/**
 * The hostile corpus of testkit/hostile-payloads.ts against the real stack: Mosquitto → bridge
 * (child process) → Kafka → writer (child process) → a fresh PostgreSQL database.
 *
 * Which layer refuses what, on the native stack: Mosquitto has no `message_size_limit` there
 * (0, so up to MQTT's 256 MB packet limit), hence every payload here, 1 MB ones included,
 * reaches the bridge; the bridge dead-letters anything over BRIDGE_MAX_PAYLOAD_BYTES (16 KiB)
 * unread, cut to that size; Kafka (max.message.bytes 1 MiB) never sees a request larger than
 * BRIDGE_MAX_BATCH_BYTES. deploy/mosquitto/mosquitto-secure.conf sets a broker limit, and
 * test/access.test.ts shows the broker refusing there.
 */

const rules = DEFAULT_READING_RULES;
const PAYLOAD_LIMIT = rules.maxPayloadBytes;
const MB = 1024 * 1024;

describe('hostile input against the running pipeline', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let mqttTopics: ReturnType<typeof testMqttTopics>;
  let publisher: MqttClient;
  let bridge: ServiceProcess;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createMigratedDatabase('hostile');
    topics = await createTestTopics('hostile');
    mqttTopics = testMqttTopics();
    const env = { ...topics.env, ...mqttTopics.env, ...db.env, WRITER_GROUP_ID: `writer-${topics.telemetry}` };
    bridge = new ServiceProcess('bridge', [], env);
    const writer = new ServiceProcess('writer', [], env);
    running.push(bridge, writer);
    await bridge.waitForLog(/bridge running/);
    publisher = await connectPublisher();
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await db?.drop();
  });

  /** The test's own copy of a topic of the default rules (`portfolio/telemetry`, `devices/<id>/telemetry`). */
  function onTestPrefix(topic: string): string {
    return `${mqttTopics.shared.slice(0, -rules.defaultTopic.length)}${topic}`;
  }

  /** What identifies a dead letter: where it came from, why, and what it held. */
  function letter(source: string, reason: string, value: Buffer): string {
    return `${source} ${reason} ${value.toString('base64')}`;
  }

  function dlqLetter(m: KafkaMessage): string {
    return letter(header(m, DLQ_HEADERS.source)!, header(m, DLQ_HEADERS.reason)!, m.value ?? Buffer.alloc(0));
  }

  it('dead-letters every hostile payload with its reason, and stores each good reading between them once', async () => {
    const nowMs = Date.now();
    // Topics the bridge does not subscribe to never reach it; the unit test covers those.
    const corpus = hostilePayloads(nowMs, PAYLOAD_LIMIT).filter((h) => topicDevice(h.topic ?? rules.defaultTopic, rules) !== undefined);
    expect(corpus.length).toBeGreaterThanOrEqual(50);

    const good: { device: string; timeS: number }[] = [];
    const goodPayload = (i: number): { topic: string; payload: string | Buffer } => {
      const timeS = Math.floor(nowMs / 1000) - 7200 + i;
      const doc = {
        device_id: 'good-1',
        firmware: '1.0.0',
        temperature: 20 + (i % 10),
        humidity: 50,
        battery: 90,
        timestamp: timeS,
        seq: i,
      };
      // Variants a strict parser could trip on, all valid: a UTF-8 BOM, unknown fields, a
      // per-device topic without device_id.
      if (i % 3 === 1) {
        good.push({ device: 'good-1', timeS });
        return {
          topic: mqttTopics.shared,
          payload: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ ...doc, rssi: -70, tags: { a: [1] } }))]),
        };
      }
      if (i % 3 === 2) {
        good.push({ device: 'good-2', timeS });
        const { device_id: _omitted, ...rest } = doc;
        return { topic: mqttTopics.device('good-2'), payload: JSON.stringify(rest) };
      }
      good.push({ device: 'good-1', timeS });
      return { topic: mqttTopics.shared, payload: JSON.stringify(doc) };
    };

    for (let i = 0; i < corpus.length; i++) {
      const g = goodPayload(i);
      await publishQos1(publisher, g.topic, g.payload);
      await publishQos1(publisher, onTestPrefix(corpus[i].topic ?? rules.defaultTopic), corpus[i].payload);
    }

    const expected = corpus.map((h) => {
      const bytes = Buffer.isBuffer(h.payload) ? h.payload : Buffer.from(h.payload);
      // Oversized payloads are dead-lettered cut to the limit; the detail gives the full size.
      const kept = h.expectReason === 'payload_too_large' ? bytes.subarray(0, PAYLOAD_LIMIT) : bytes;
      return letter(`mqtt:${onTestPrefix(h.topic ?? rules.defaultTopic)}`, h.expectReason, kept);
    });
    const dead = await readTopic(topics.dlq, corpus.length, 120000);
    expect(dead.map(dlqLetter).sort()).toEqual(expected.sort());
    for (const m of dead) expect(header(m, DLQ_HEADERS.detail)).toMatch(/^[\x20-\x7e]+$/);
    const sizes = dead
      .filter((m) => header(m, DLQ_HEADERS.reason) === 'payload_too_large')
      .map((m) => Number(/^payload: (\d+) bytes/.exec(header(m, DLQ_HEADERS.detail)!)?.[1]));
    expect(sizes.sort((a, b) => a - b)).toEqual([PAYLOAD_LIMIT + 1, MB]);

    const rows = await waitUntil(
      `${good.length} rows`,
      async () => {
        const r = await db.pool.query<{ device_id: string; s: number }>(
          `SELECT device_id, extract(epoch FROM time)::int AS s FROM device_telemetry ORDER BY device_id, time`,
        );
        return r.rows.length >= good.length && r.rows;
      },
      120000,
    );
    // Exactly the good readings, each once: no hostile payload reached the table.
    expect(rows.map((r) => `${r.device_id}@${r.s}`)).toEqual(good.map((g) => `${g.device}@${g.timeS}`).sort());
    expect(await bridge.metricValue('iot_bridge_messages_rejected_total')).toBe(corpus.length);
    expect(await bridge.metricValue('iot_bridge_readings_produced_total')).toBe(good.length);
  });

  it('keeps its memory bounded through 200 payloads of 1 MB', async () => {
    const before = await memory(bridge);
    const already = await bridge.metricValue('iot_bridge_messages_rejected_total', { reason: 'payload_too_large' });
    const big = Buffer.alloc(MB, 0x20);
    Buffer.from(JSON.stringify({ device_id: 'big', battery: 1, timestamp: Math.floor(Date.now() / 1000) })).copy(big);
    const total = 200;
    // 20 at a time: enough to keep the bridge's window busy, without the test's own process
    // holding 200 MB of send buffers.
    for (let i = 0; i < total; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => publishQos1(publisher, mqttTopics.shared, big)));
    }
    await waitUntil(
      `${total} more oversized payloads dead-lettered`,
      async () => (await bridge.metricValue('iot_bridge_messages_rejected_total', { reason: 'payload_too_large' })) >= already + total,
      120000,
    );
    const after = await memory(bridge);
    const growthMb = (after.rss - before.rss) / MB;
    process.stdout.write(
      `bridge memory through ${total} x 1 MB: rss ${(before.rss / MB).toFixed(0)} -> ${(after.rss / MB).toFixed(0)} MB, ` +
        `heap used ${(before.heap / MB).toFixed(0)} -> ${(after.heap / MB).toFixed(0)} MB\n`,
    );
    // 200 MB went through. A bridge that kept every payload (or every DLQ copy) would grow by
    // at least that; one that keeps only what is in flight grows by the in-flight window
    // (a few 1 MB buffers: Kafka acknowledges ~60 cut-down dead letters per request) plus
    // allocator slack that the C heap does not hand back to the OS at once. 150 MB separates
    // the two with room for the slack; it bounds memory, not time.
    expect(growthMb).toBeLessThan(150);

    // And it still serves: a good reading after the flood is stored.
    const timeS = Math.floor(Date.now() / 1000) - 10;
    await publishQos1(publisher, mqttTopics.shared, JSON.stringify({ device_id: 'after-flood', battery: 50, timestamp: timeS }));
    await waitUntil('the reading after the flood', async () => {
      const r = await db.pool.query(`SELECT 1 FROM device_telemetry WHERE device_id = 'after-flood' AND time = to_timestamp($1)`, [timeS]);
      return r.rows.length === 1;
    });
  });
});

async function memory(service: ServiceProcess): Promise<{ rss: number; heap: number }> {
  return {
    rss: await service.metricValue('process_resident_memory_bytes'),
    heap: await service.metricValue('nodejs_heap_size_used_bytes'),
  };
}
