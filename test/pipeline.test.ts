import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

    await waitUntil(
      '4000 rows',
      async () => {
        const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM device_telemetry');
        return rows[0].n >= 4000;
      },
      120000,
    );
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

describe('pipeline over TLS: simulator → Mosquitto (mqtts) → bridge → Kafka → writer', () => {
  const running: ServiceProcess[] = [];
  let db: TestDatabase;
  let topics: TestTopics;
  let tls: { port: number; caFile: string };

  beforeAll(async () => {
    const { MQTT_TLS_PORT, MQTT_TLS_CA_FILE } = process.env;
    if (!MQTT_TLS_PORT || !MQTT_TLS_CA_FILE)
      throw new Error('the stack has no MQTT TLS listener (MQTT_TLS_PORT, MQTT_TLS_CA_FILE): npm run stack:up makes one');
    tls = { port: Number(MQTT_TLS_PORT), caFile: MQTT_TLS_CA_FILE };
    db = await createMigratedDatabase('e2e_tls');
    topics = await createTestTopics('e2e-tls', 3);
  });

  afterAll(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await db?.drop();
  });

  it('stores every reading sent over TLS exactly once, the broker checked against the stack CA', async () => {
    const mqttTopics = testMqttTopics();
    const env = {
      ...topics.env,
      ...mqttTopics.env,
      ...db.env,
      WRITER_GROUP_ID: `writer-${topics.telemetry}`,
      MQTT_TLS: 'true',
      MQTT_PORT: String(tls.port),
      MQTT_CA_FILE: tls.caFile,
    };
    const bridge = new ServiceProcess('bridge', [], env);
    const writer = new ServiceProcess('writer', [], env);
    running.push(bridge, writer);
    await bridge.waitForLog(/bridge running/);

    const summary = await simulateFleet({
      mqtt: { broker: process.env.MQTT_BROKER, port: tls.port, tls: true, caFile: tls.caFile, topic: mqttTopics.shared, qos: 1 },
      fleet: { deviceCount: 5, count: 100, interval: 1, noWait: true, seed: 7 },
      anomalies: { rate: 0 },
      dropouts: { rate: 0 },
    });
    expect(summary.acked).toBe(500);
    await waitUntil(
      '500 rows',
      async () => (await db.pool.query('SELECT count(*)::int AS n FROM device_telemetry')).rows[0].n >= 500,
      120000,
    );
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT (device_id, time))::int AS distinct_ids FROM device_telemetry',
    );
    expect(rows[0]).toEqual({ n: 500, distinct_ids: 500 });
  });

  it('refuses a broker whose certificate another CA signed, saying which setting decides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wrong-ca-'));
    const wrongCa = join(dir, 'ca.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=not the stack CA',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        wrongCa,
      ],
      { stdio: 'ignore' },
    );
    const bridge = new ServiceProcess('bridge', [], {
      ...topics.env,
      MQTT_TLS: 'true',
      MQTT_PORT: String(tls.port),
      MQTT_CA_FILE: wrongCa,
    });
    running.push(bridge);
    await bridge.waitForLog(/certificate is not trusted .*check MQTT_CA_FILE/);
    await expect(
      simulateFleet({
        mqtt: { broker: process.env.MQTT_BROKER, port: tls.port, tls: true, caFile: wrongCa, topic: 't/x', qos: 1, reconnectMax: 0.5 },
        fleet: { deviceCount: 1, count: 1, interval: 1, noWait: true, seed: 1 },
        anomalies: { rate: 0 },
        dropouts: { rate: 0 },
        signal: AbortSignal.timeout(3000),
      }),
    ).rejects.toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});
