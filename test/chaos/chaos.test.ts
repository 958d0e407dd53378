import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from 'kafkajs';
import { AvroCodec, createRegistry } from '../../lib/avro';
import { Random } from '../../simulator/prng';
import { simulateFleet } from '../../simulator';
import { Alert, alertSchemaText } from '../../schemas';
import { createTestTopics, groupLag, readTopic, recordCount, testKafka, TestTopics, uniqueName } from '../../testkit/kafka';
import { testMqttTopics } from '../../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../../testkit/pg';
import { nativeService } from '../../testkit/native-service';
import { ServiceProcess } from '../../testkit/service-process';
import { waitUntil } from '../../testkit/wait';

/**
 * Kafka's system tests are the model: unique, sequenced readings in at a fixed rate; the
 * bridge, a writer and the detector killed with SIGKILL, and Kafka, PostgreSQL and
 * Mosquitto restarted, each once, in a random order at random moments; then every
 * reading a device had acknowledged must be stored exactly once, and no alert id may
 * repeat. Needs the native stack (deploy/native/service.sh restarts its services).
 */
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const RATE = Number(process.env.CHAOS_RATE ?? 200);
const DEVICES = 40;

type Fault = 'bridge' | 'writer' | 'detector' | 'kafka' | 'postgres' | 'mosquitto';
const FAULTS: Fault[] = ['bridge', 'writer', 'detector', 'kafka', 'postgres', 'mosquitto'];

interface Recovery {
  fault: Fault;
  atSecond: number;
  /** Until the replacement process said it is ready, or the restart command returned. */
  readyMs: number;
  /** Until readings flowed again. */
  recoverMs: number;
}

describe('chaos', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let admin: Admin;
  const running = new Set<ServiceProcess>();

  beforeAll(async () => {
    db = await createMigratedDatabase('chaos');
    topics = await createTestTopics('chaos', 6);
    admin = testKafka().admin();
    await admin.connect();
  });

  // Every service's output, kept for the post-mortem of a failed run.
  const logDir = mkdtempSync(join(tmpdir(), 'chaos-logs-'));
  const keepLog = (p: ServiceProcess) => writeFileSync(join(logDir, `${p.command}-${p.pid}.log`), p.output.join('\n'));

  afterAll(async () => {
    await Promise.all([...running].map((p) => p.kill('SIGTERM')));
    for (const p of running) keepLog(p);
    process.stdout.write(`chaos: service logs in ${logDir}\n`);
    await admin.disconnect().catch(() => undefined);
    await db.drop();
  });

  it(
    'loses and doubles nothing while services are killed and restarted',
    async () => {
      const rng = new Random(SEED);
      const mqttTopics = testMqttTopics();
      const env = {
        ...topics.env,
        ...mqttTopics.env,
        ...db.env,
        WRITER_GROUP_ID: uniqueName('chaos-writer'),
        DETECTOR_GROUP_ID: uniqueName('chaos-detector'),
        // Short back-offs so a restarted dependency is found again quickly.
        WRITER_RETRY_MAX_MS: '2000',
      };
      const start = (command: string) => {
        const p = new ServiceProcess(command, [], env);
        running.add(p);
        return p;
      };
      const replace = async (old: ServiceProcess, ready: RegExp) => {
        await old.kill('SIGKILL');
        keepLog(old);
        running.delete(old);
        const fresh = start(old.command);
        await fresh.waitForLog(ready, 120000);
        return fresh;
      };

      let bridge = start('bridge');
      const writers = [start('writer'), start('writer')];
      let detector = start('detector');
      await Promise.all([
        bridge.waitForLog(/bridge running/),
        ...writers.map((w) => w.waitForLog(/joined group/)),
        detector.waitForLog(/assignment ready/),
      ]);

      const published = new Set<string>();
      const stop = new AbortController();
      const simulation = simulateFleet({
        mqtt: {
          broker: process.env.MQTT_BROKER,
          port: Number(process.env.MQTT_PORT),
          topic: mqttTopics.shared,
          qos: 1,
          reconnectMin: 0.1,
          reconnectMax: 1,
        },
        fleet: { deviceCount: DEVICES, rate: RATE, seed: SEED, withSeq: true, timestampFormat: 'ms' },
        anomalies: { rate: 0.002, kinds: ['spike'] },
        dropouts: { rate: 0 },
        signal: stop.signal,
        onPublish: (_emission, _topic, payload) => {
          const p = JSON.parse(payload) as { device_id: string; timestamp: number };
          published.add(`${p.device_id}|${p.timestamp}`);
        },
      });

      const storedCount = async () => Number((await db.pool.query('SELECT count(*) AS n FROM device_telemetry')).rows[0].n);
      const begun = Date.now();
      const recoveries: Recovery[] = [];
      const order = [...FAULTS];
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const fault of order) {
        // A random moment: between 4 and 12 s of normal running since the last recovery.
        await new Promise((r) => setTimeout(r, 4000 + rng.int(8000)));
        const before = await storedCount();
        const t0 = Date.now();
        switch (fault) {
          case 'bridge':
            bridge = await replace(bridge, /bridge running/);
            break;
          case 'writer': {
            const victim = rng.int(writers.length);
            writers[victim] = await replace(writers[victim], /joined group/);
            break;
          }
          case 'detector':
            detector = await replace(detector, /assignment ready/);
            break;
          default:
            await nativeService(fault, 'restart');
        }
        const readyMs = Date.now() - t0;
        // Recovered: new readings reach the database again (the detector: it judges again).
        if (fault === 'detector') {
          const live = detector;
          await waitUntil(
            'the restarted detector to judge readings',
            async () => (await live.metricValue('iot_detector_readings_total', { outcome: 'accepted' })) > 0,
            180000,
            200,
          );
        } else {
          await waitUntil(`rows to grow again after the ${fault} fault`, async () => (await storedCount()) > before, 180000, 200);
        }
        recoveries.push({ fault, atSecond: Math.round((t0 - begun) / 1000), readyMs, recoverMs: Date.now() - t0 });
      }
      stop.abort();
      const summary = await simulation;
      expect(summary.failed).toBe(0);
      expect(summary.drained).toBe(true);

      // Every acknowledged reading arrives, or the count stops growing for 60 s (then the figures say what is missing).
      let last = -1;
      let lastGrowth = Date.now();
      await waitUntil(
        'every acknowledged reading stored, or no progress for 60 s',
        async () => {
          const n = await storedCount();
          if (n > last) [last, lastGrowth] = [n, Date.now()];
          return n >= published.size || Date.now() - lastGrowth > 60000;
        },
        600000,
        500,
      );
      const { rows } = await db.pool.query<{ device_id: string; ms: string }>(
        'SELECT device_id, (extract(epoch FROM time) * 1000)::bigint AS ms FROM device_telemetry',
      );
      const stored = new Map<string, number>();
      for (const r of rows) {
        const key = `${r.device_id}|${r.ms}`;
        stored.set(key, (stored.get(key) ?? 0) + 1);
      }
      const lost = [...published].filter((k) => !stored.has(k)).length;
      const doubled = [...stored.values()].reduce((n, c) => n + (c - 1), 0);
      const strangers = [...stored.keys()].filter((k) => !published.has(k)).length;

      // Alerts: let the detector finish the stream, then every id on the topic once.
      await waitUntil(
        'the detector to commit every reading',
        async () => (await groupLag(admin, env.DETECTOR_GROUP_ID, topics.telemetry)) === 0,
        180000,
        500,
      );
      const alertCount = await recordCount(admin, topics.alerts);
      const codec = new AvroCodec<Alert>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), alertSchemaText);
      const alertMessages = alertCount > 0 ? await readTopic(topics.alerts, alertCount) : [];
      await codec.prepare(alertMessages.map((m) => m.value));
      const alertIds = alertMessages.map((m) => codec.decode(m.value).alert_id);
      const repeatedAlerts = alertIds.length - new Set(alertIds).size;

      const figures = {
        seed: SEED,
        ratePerSecond: RATE,
        seconds: Math.round((Date.now() - begun) / 1000),
        sent: summary.published,
        acknowledged: summary.acked,
        distinctReadings: published.size,
        stored: rows.length,
        lost,
        doubled,
        storedButNeverSent: strangers,
        alerts: alertIds.length,
        repeatedAlerts,
        killsSurvived: recoveries.length,
      };
      process.stdout.write(
        `\nchaos figures (CHAOS_SEED=${SEED} repeats this schedule):\n${JSON.stringify(figures, null, 2)}\n` +
          `recovery (fault at s: ms until the service was back, ms until readings flowed again):\n${recoveries
            .map(
              (r) =>
                `  ${r.fault.padEnd(9)} at ${String(r.atSecond).padStart(3)} s: back after ${r.readyMs} ms, flowing after ${r.recoverMs} ms`,
            )
            .join('\n')}\n`,
      );

      expect(recoveries.map((r) => r.fault).sort()).toEqual([...FAULTS].sort());
      expect(summary.acked).toBeGreaterThanOrEqual(published.size);
      expect(lost).toBe(0);
      expect(doubled).toBe(0);
      expect(strangers).toBe(0);
      expect(rows.length).toBe(published.size);
      expect(alertIds.length).toBeGreaterThan(0);
      expect(repeatedAlerts).toBe(0);
    },
    20 * 60_000,
  );
});
