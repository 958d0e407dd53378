import { MqttClient } from 'mqtt';
import { Reading } from '../../schemas';
import { createTestTopics, groupLag, produceReadings, telemetryCodec, testKafka, TestTopics, uniqueName } from '../../testkit/kafka';
import { connectPublisher, publishQos1, testMqttTopics } from '../../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../../testkit/pg';
import { nativeService as service } from '../../testkit/native-service';
import { ServiceProcess } from '../../testkit/service-process';
import { waitUntil } from '../../testkit/wait';

/**
 * Back-pressure with real outages: the native stack's PostgreSQL and Kafka are stopped
 * (deploy/native/service.sh) while readings keep coming. Runs alone, after the
 * integration tests (its own jest project), because it stops shared servers.
 */

async function storedRows(db: TestDatabase): Promise<{ rows: number; identities: number }> {
  const { rows } = await db.pool.query(
    'SELECT count(*)::int AS rows, count(DISTINCT (device_id, time))::int AS identities FROM device_telemetry',
  );
  return rows[0];
}

describe('back-pressure', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const running: ServiceProcess[] = [];

  beforeEach(async () => {
    db = await createMigratedDatabase('backpressure');
    topics = await createTestTopics('backpressure');
  });

  afterEach(async () => {
    // Whatever happened, leave the stack running for whoever comes next.
    await service('postgres', 'start');
    await service('kafka', 'start');
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await db.drop();
  });

  it('PostgreSQL down for a minute: the writer retries without crashing, commits nothing, then drains it all', async () => {
    const groupId = uniqueName('writer');
    const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: groupId, WRITER_RETRY_MAX_MS: '2000' });
    running.push(writer);
    await writer.waitForLog(/joined group/);
    const codec = await telemetryCodec(topics.telemetry);
    const producer = testKafka().producer();
    const admin = testKafka().admin();
    await Promise.all([producer.connect(), admin.connect()]);
    try {
      const t0 = Date.UTC(2026, 10, 1) * 1000;
      const readings: Reading[] = Array.from({ length: 3000 }, (_, i) => ({
        device_id: `dev-${i % 30}`,
        time: t0 + i * 1000,
        firmware: '1.0.0',
        temperature: 20,
        humidity: 50,
        battery: 80,
        seq: null,
        ingested_at: Date.now(),
      }));
      // One reading first, so the writer knows the schema: the native registry keeps its
      // schemas in the same PostgreSQL, and this test is about the writer's own writes.
      await produceReadings(producer, topics.telemetry, codec, readings.slice(0, 1));
      await waitUntil('the first reading stored', async () => (await storedRows(db)).rows === 1);

      await service('postgres', 'stop');
      await produceReadings(producer, topics.telemetry, codec, readings.slice(1));

      await waitUntil(
        'the writer to fail and retry',
        async () => (await writer.metricValue('iot_writer_write_errors_total', { retriable: 'true' })) >= 3,
        90000,
        500,
      );
      // Held down for a minute in all (a deliberate outage, not a wait for a condition).
      await new Promise((r) => setTimeout(r, 60000));
      expect(await writer.metricValue('iot_writer_write_errors_total', { retriable: 'false' })).toBe(0);
      // Nothing is committed before it is stored: all but the first reading are still behind.
      expect(await groupLag(admin, groupId, topics.telemetry)).toBe(readings.length - 1);

      await service('postgres', 'start');
      await waitUntil('every reading stored', async () => (await storedRows(db)).rows >= readings.length, 120000, 500);
      expect(await storedRows(db)).toEqual({ rows: readings.length, identities: readings.length });
      await waitUntil('the lag to drain', async () => (await groupLag(admin, groupId, topics.telemetry)) === 0, 60000, 500);
      expect(writer.exitCode).toBeNull(); // never crashed
    } finally {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    }
  }, 600000);

  it('Kafka down: the bridge stops acknowledging, holds bounded memory, and loses nothing', async () => {
    const mqttTopics = testMqttTopics();
    const env = { ...topics.env, ...mqttTopics.env, ...db.env, WRITER_GROUP_ID: uniqueName('writer') };
    const bridge = new ServiceProcess('bridge', [], env);
    const writer = new ServiceProcess('writer', [], env);
    running.push(bridge, writer);
    await Promise.all([bridge.waitForLog(/bridge running/), writer.waitForLog(/joined group/)]);
    const publisher: MqttClient = await connectPublisher();
    try {
      const rssBefore = await bridge.metricValue('process_resident_memory_bytes');
      await service('kafka', 'stop');
      // 20 000 readings of ~8 KB (an ignored extra field pads them) while Kafka is away: 160 MB
      // offered. The broker holds what the bridge has not acknowledged, the bridge at most its
      // receive maximum.
      const count = 20000;
      const pad = 'x'.repeat(8000);
      const t0 = Date.UTC(2026, 10, 2) / 1000;
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, k) => {
            const n = i + k;
            const payload = JSON.stringify({
              device_id: `dev-${n % 50}`,
              firmware: '1.0.0',
              temperature: 20,
              humidity: 50,
              battery: 80,
              timestamp: t0 + n / 1000,
              note: pad,
            });
            return publishQos1(publisher, mqttTopics.shared, payload);
          }),
        );
      }
      const producedWhileDown = await bridge.metricValue('iot_bridge_readings_produced_total');
      const rssDown = await bridge.metricValue('process_resident_memory_bytes');
      process.stdout.write(
        `bridge RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssDown / 2 ** 20).toFixed(0)} MiB with Kafka down and ${count} readings offered\n`,
      );
      expect(producedWhileDown).toBe(0);
      // Bounded: the receive maximum (2000 in flight) of ~8 KB messages, ~16 MB and a few copies
      // of it, not the 160 MB offered (times the copies an unbounded bridge would keep).
      expect(rssDown - rssBefore).toBeLessThan(150 * 2 ** 20);

      await service('kafka', 'start');
      await waitUntil('every reading stored', async () => (await storedRows(db)).rows >= count, 300000, 1000);
      expect(await storedRows(db)).toEqual({ rows: count, identities: count });
      expect(bridge.exitCode).toBeNull();
    } finally {
      await new Promise<void>((resolve) => publisher.end(false, {}, () => resolve()));
    }
  }, 900000);
});
