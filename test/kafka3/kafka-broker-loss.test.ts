import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Partitioners } from 'kafkajs';
import { simulateFleet } from '../../simulator';
import { createTestTopics, recordCount, testKafka, TestTopics, uniqueName } from '../../testkit/kafka';
import { testMqttTopics } from '../../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../../testkit/pg';
import { nativeService } from '../../testkit/native-service';
import { ServiceProcess } from '../../testkit/service-process';
import { parseEnvFile } from '../../testkit/stack';
import { waitUntil } from '../../testkit/wait';

/**
 * One Kafka broker of three lost mid-stream. Readings flow simulator → Mosquitto → bridge →
 * Kafka (3 brokers; topics with replication 3, min.insync.replicas 2; the bridge produces
 * with acks=all) → writer → PostgreSQL at a fixed rate; the broker leading the most
 * partitions of the telemetry topic is SIGKILLed (deploy/native/service.sh kafka-N kill),
 * readings keep coming while it is down, then it is started again. Every acknowledged
 * reading must be stored exactly once.
 *
 * The stall is the longest time the table did not grow (row count polled every 100 ms) from
 * the kill until the broker is back, set against the longest such gap before the kill.
 *
 * Needs the native stack in three-broker mode (deploy/native/README.md, "Three Kafka brokers"):
 *   set -a; . "$STACK_DIR/env"; set +a; npm run test:kafka3
 */
const RATE = Number(process.env.KAFKA3_RATE ?? 200);
const DEVICES = 40;
const BEFORE_MS = 10_000; // normal running before the kill
const DOWN_MS = 20_000; // the broker stays down this long (at least until writes flow again)
const AFTER_MS = 5_000; // normal running after it is back in sync
const POLL_MS = 100;
const ROOT = join(__dirname, '..', '..');

const HOW_TO_RUN =
  'This test needs the native stack with three Kafka brokers, its endpoints in the environment and its STACK_DIR, e.g.\n' +
  '  export STACK_DIR=/path/to/kafka3-stack STACK_KAFKA_BROKERS=3   # plus STACK_*_PORT settings if another stack uses the defaults\n' +
  '  bash deploy/native/up.sh && set -a && . "$STACK_DIR/env" && set +a && npm run test:kafka3\n' +
  '(deploy/native/README.md, "Three Kafka brokers").';

/** Fails, saying how to run the test, unless the environment points at a three-broker native stack. */
async function checkThreeBrokerStack(admin: Admin): Promise<string> {
  const stackDir = process.env.STACK_DIR ?? join(ROOT, '.stack');
  const problem = (what: string) => new Error(`${what}\n${HOW_TO_RUN}`);
  const settingsFile = join(stackDir, 'conf', 'stack.settings');
  if (!existsSync(settingsFile)) throw problem(`no native stack in ${stackDir} (${settingsFile} is missing).`);
  const brokersSetting = parseEnvFile(readFileSync(settingsFile, 'utf8')).STACK_KAFKA_BROKERS ?? '1';
  if (brokersSetting !== '3')
    throw problem(
      `the native stack in ${stackDir} runs ${brokersSetting} Kafka broker(s) (STACK_KAFKA_BROKERS in ${settingsFile}), not 3.`,
    );
  // service.sh acts on STACK_DIR: it must be the stack the endpoints point at
  const stackEnv = parseEnvFile(readFileSync(join(stackDir, 'env'), 'utf8'));
  if (stackEnv.KAFKA_BROKERS !== process.env.KAFKA_BROKERS || stackEnv.POSTGRES_PORT !== process.env.POSTGRES_PORT) {
    throw problem(
      `KAFKA_BROKERS=${process.env.KAFKA_BROKERS} and POSTGRES_PORT=${process.env.POSTGRES_PORT} are not those of ${stackDir}/env ` +
        `(${stackEnv.KAFKA_BROKERS}, ${stackEnv.POSTGRES_PORT}): source that file.`,
    );
  }
  const { brokers } = await admin.describeCluster();
  if (brokers.length !== 3)
    throw problem(
      `Kafka at ${process.env.KAFKA_BROKERS} has ${brokers.length} live broker(s), not 3: is every broker running (service.sh kafka status)?`,
    );
  return stackDir;
}

interface Sample {
  at: number;
  rows: number;
}

/** The longest time between two consecutive increases of the row count within [from, to]. */
function longestGap(samples: Sample[], from: number, to: number): { ms: number; startedAt: number } {
  let best = { ms: 0, startedAt: from };
  let lastGrowth = from;
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i];
    if (s.at < from) continue;
    if (s.at > to) break;
    if (s.rows > samples[i - 1].rows) {
      if (s.at - lastGrowth > best.ms) best = { ms: s.at - lastGrowth, startedAt: lastGrowth };
      lastGrowth = s.at;
    }
  }
  if (to - lastGrowth > best.ms) best = { ms: to - lastGrowth, startedAt: lastGrowth };
  return best;
}

describe('three Kafka brokers', () => {
  let db: TestDatabase | undefined;
  let topics: TestTopics;
  let admin: Admin;
  let killed: string | undefined;
  let stopPolling = () => undefined as unknown;
  const running = new Set<ServiceProcess>();

  beforeAll(async () => {
    admin = testKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    stopPolling();
    await Promise.all([...running].map((p) => p.kill('SIGTERM')));
    // never leave the stack with a broker down, whatever failed
    if (killed) await nativeService(killed, 'start').catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await db?.drop();
  });

  it(
    'loses and doubles nothing when the leader of some partitions is SIGKILLed mid-stream',
    async () => {
      await checkThreeBrokerStack(admin);
      db = await createMigratedDatabase('kafka3');
      const database = db;
      topics = await createTestTopics('kafka3', 6, { replicationFactor: 3, minInsyncReplicas: 2 });

      // The topics are what the test says: 3 replicas in sync everywhere, min.insync.replicas 2.
      const metadata = async () => (await admin.fetchTopicMetadata({ topics: [topics.telemetry] })).topics[0].partitions;
      for (const p of await metadata()) {
        expect(p.replicas).toHaveLength(3);
        expect(p.isr).toHaveLength(3);
      }
      const configs = await admin.describeConfigs({
        resources: [{ type: 2, name: topics.telemetry, configNames: ['min.insync.replicas'] }],
        includeSynonyms: false,
      });
      expect(configs.resources[0].configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('2');

      const mqttTopics = testMqttTopics();
      const env = {
        ...topics.env,
        ...mqttTopics.env,
        ...db.env,
        WRITER_GROUP_ID: uniqueName('kafka3-writer'),
        WRITER_RETRY_MAX_MS: '2000',
      };
      const start = (command: string) => {
        const p = new ServiceProcess(command, [], env);
        running.add(p);
        return p;
      };
      const bridge = start('bridge');
      const writer = start('writer');
      await Promise.all([bridge.waitForLog(/bridge running/), writer.waitForLog(/joined group/)]);

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
        fleet: { deviceCount: DEVICES, rate: RATE, seed: 6, withSeq: true, timestampFormat: 'ms' },
        anomalies: { rate: 0 },
        dropouts: { rate: 0 },
        signal: stop.signal,
        onPublish: (_emission, _topic, payload) => {
          const p = JSON.parse(payload) as { device_id: string; timestamp: number };
          published.add(`${p.device_id}|${p.timestamp}`);
        },
      });

      // The row count, every 100 ms, for as long as the test runs.
      const storedCount = async () => Number((await database.pool.query('SELECT count(*) AS n FROM device_telemetry')).rows[0].n);
      const samples: Sample[] = [];
      let polling = true;
      stopPolling = () => (polling = false);
      const poller = (async () => {
        while (polling) {
          const rows = await storedCount().catch(() => undefined);
          if (rows !== undefined) samples.push({ at: Date.now(), rows });
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      })();
      const rowsNow = () => samples[samples.length - 1]?.rows ?? 0;
      const begun = Date.now();
      await waitUntil('rows to flow', () => rowsNow() > 0, 60000);
      await new Promise((r) => setTimeout(r, BEFORE_MS));

      // The victim: the broker that leads the most partitions of the telemetry topic.
      const leaders = new Map<number, number[]>();
      for (const p of await metadata()) leaders.set(p.leader, [...(leaders.get(p.leader) ?? []), p.partitionId]);
      const [victimId, victimPartitions] = [...leaders].sort((a, b) => b[1].length - a[1].length || a[0] - b[0])[0];
      const victim = `kafka-${victimId}`;
      const rowsAtKill = rowsNow();
      const publishedAtKill = published.size;
      const killedAt = Date.now();
      killed = victim;
      await nativeService(victim, 'kill');

      // Failover: every partition led by a live broker, with the victim out of the ISR.
      await waitUntil(
        "new leaders for the lost broker's partitions",
        async () => (await metadata()).every((p) => p.leader !== victimId && p.leader >= 0 && !p.isr.includes(victimId)),
        120000,
        200,
      );
      const failoverMs = Date.now() - killedAt;
      // Writes go on with two brokers: readings produced after the failover reach the table.
      const rowsAtFailover = rowsNow();
      await waitUntil('rows to grow again with one broker down', () => rowsNow() > rowsAtFailover, 120000, POLL_MS);
      const rowsAgainMs = Date.now() - killedAt;
      await waitUntil('the backlog of the outage to be stored', () => rowsNow() >= publishedAtKill, 120000, POLL_MS);
      const caughtUpMs = Date.now() - killedAt;
      const downFor = Math.max(0, DOWN_MS - (Date.now() - killedAt));
      await new Promise((r) => setTimeout(r, downFor));
      const rowsWhileDown = rowsNow() - rowsAtKill;

      // Back: the broker starts, catches up, and is in sync again on every partition.
      const restartedAt = Date.now();
      await nativeService(victim, 'start');
      killed = undefined;
      const answeringMs = Date.now() - restartedAt;
      await waitUntil(`${victim} back in every ISR`, async () => (await metadata()).every((p) => p.isr.length === 3), 180000, 500);
      const inSyncMs = Date.now() - restartedAt;
      const restartWindowEnd = Date.now();
      await new Promise((r) => setTimeout(r, AFTER_MS));

      stop.abort();
      const summary = await simulation;
      // Not a bare wait: when readings are missing, the figures below say where they stopped.
      const allStored = await waitUntil('every acknowledged reading stored', () => rowsNow() >= published.size, 180000, 500).then(
        () => true,
        () => false,
      );
      await new Promise((r) => setTimeout(r, 2000)); // a late duplicate would show up by now
      polling = false;
      await poller;

      const { rows } = await db.pool.query<{ device_id: string; ms: string }>(
        'SELECT device_id, (extract(epoch FROM time) * 1000)::bigint AS ms FROM device_telemetry',
      );
      const stored = new Map<string, number>();
      for (const r of rows) {
        const key = `${r.device_id}|${r.ms}`;
        stored.set(key, (stored.get(key) ?? 0) + 1);
      }
      const lostKeys = [...published].filter((k) => !stored.has(k));
      const lost = lostKeys.length;
      // where lost readings would have gone (the bridge's partitioner, key = device id)
      const partitionMetadata = await metadata();
      const partitionOf = Partitioners.DefaultPartitioner();
      const lostByPartition: Record<number, number> = {};
      for (const k of lostKeys) {
        const partition = partitionOf({ topic: topics.telemetry, partitionMetadata, message: { key: k.split('|')[0], value: null } });
        lostByPartition[partition] = (lostByPartition[partition] ?? 0) + 1;
      }
      const doubled = [...stored.values()].reduce((n, c) => n + (c - 1), 0);
      const strangers = [...stored.keys()].filter((k) => !published.has(k)).length;

      const baseline = longestGap(samples, killedAt - BEFORE_MS + 1000, killedAt);
      const stall = longestGap(samples, killedAt, restartedAt);
      const restartStall = longestGap(samples, restartedAt, restartWindowEnd);
      const produceFailures = await bridge.metricValue('iot_bridge_produce_failures_total');
      const produced = await bridge.metricValue('iot_bridge_readings_produced_total');
      const inserted = await writer.metricValue('iot_writer_rows_total', { result: 'inserted' });
      const onTopic = await recordCount(admin, topics.telemetry);
      const figures = {
        ratePerSecond: RATE,
        devices: DEVICES,
        seconds: Math.round((Date.now() - begun) / 1000),
        killed: `${victim} (SIGKILL), leader of telemetry partitions [${victimPartitions.join(',')}] of 6`,
        sent: summary.published,
        acknowledged: summary.acked,
        failedPublishes: summary.failed,
        distinctReadings: published.size,
        stored: rows.length,
        lost,
        lostByPartition,
        doubled,
        storedButNeverSent: strangers,
        rowsStoredWhileBrokerDown: rowsWhileDown,
        bridgeProduceFailures: produceFailures,
        bridgeReadingsProduced: produced,
        recordsOnTelemetryTopic: onTopic,
        writerRowsInserted: inserted,
      };
      const timings = {
        longestGapBeforeKillMs: baseline.ms,
        stallMs: stall.ms,
        stallStartedMsAfterKill: stall.startedAt - killedAt,
        leaderFailoverMs: failoverMs,
        rowsGrewAgainAfterFailoverMsAfterKill: rowsAgainMs,
        backlogStoredMsAfterKill: caughtUpMs,
        restartUntilAnsweringMs: answeringMs,
        restartUntilInEveryIsrMs: inSyncMs,
        longestGapDuringRestartMs: restartStall.ms,
      };
      process.stdout.write(
        `\nkafka broker loss figures:\n${JSON.stringify(figures, null, 2)}\n` +
          `timings (stall = longest time the table did not grow, polled every ${POLL_MS} ms, from the kill until the restart):\n${JSON.stringify(timings, null, 2)}\n`,
      );

      if (!allStored || lost > 0) {
        process.stdout.write(`\nbridge (last lines):\n${bridge.tail(40)}\nwriter (last lines):\n${writer.tail(40)}\n`);
      }
      expect(summary.failed).toBe(0);
      expect(summary.drained).toBe(true);
      expect(summary.acked).toBeGreaterThanOrEqual(published.size);
      expect(lost).toBe(0);
      expect(doubled).toBe(0);
      expect(strangers).toBe(0);
      expect(rows.length).toBe(published.size);
      // the outage was survived, not waited out: rows kept arriving with two brokers
      expect(rowsWhileDown).toBeGreaterThan(0);
    },
    15 * 60_000,
  );
});
