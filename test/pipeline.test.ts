import { simulateFleet } from '../simulator';
import { createTestTopics, TestTopics } from '../testkit/kafka';
import { testMqttTopics } from '../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

describe('pipeline end to end: simulator → Mosquitto → bridge → Kafka → writer → PostgreSQL', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createMigratedDatabase('e2e');
    topics = await createTestTopics('e2e', 6);
  });

  afterAll(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await db.drop();
  });

  it('stores every reading of 20 devices × 200 at QoS 1 exactly once', async () => {
    const mqttTopics = testMqttTopics();
    const env = { ...topics.env, ...mqttTopics.env, ...db.env, WRITER_GROUP_ID: `writer-${topics.telemetry}` };
    const bridge = new ServiceProcess('bridge', [], env);
    const writer = new ServiceProcess('writer', [], env);
    running.push(bridge, writer);
    await bridge.waitForLog(/bridge running/);

    const summary = await simulateFleet({
      mqtt: { broker: process.env.MQTT_BROKER, port: Number(process.env.MQTT_PORT), topic: mqttTopics.shared, qos: 1 },
      fleet: { deviceCount: 20, count: 200, interval: 1, noWait: true, seed: 42, withSeq: true },
      anomalies: { rate: 0 },
      dropouts: { rate: 0 },
    });
    expect(summary.acked).toBe(4000);

    await waitUntil('4000 rows', async () => {
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM device_telemetry');
      return rows[0].n >= 4000;
    }, 120000);
    const { rows } = await db.pool.query(
      'SELECT device_id, count(*)::int AS n, count(DISTINCT time)::int AS distinct_times FROM device_telemetry GROUP BY device_id',
    );
    expect(rows).toHaveLength(20);
    for (const row of rows) {
      expect(row.n).toBe(200);
      expect(row.distinct_times).toBe(200);
      expect(summary.ackedByDevice[row.device_id]).toBe(200);
    }
    expect(await bridge.metricValue('iot_bridge_readings_produced_total')).toBe(4000);
    expect(await bridge.metricValue('iot_bridge_messages_rejected_total')).toBe(0);
    await waitUntil('writer counters', async () => (await writer.metricValue('iot_writer_rows_total', { result: 'inserted' })) === 4000);
  });
});
