import { Admin } from 'kafkajs';
import { MqttClient } from 'mqtt';
import { Random } from '../../simulator/prng';
import { createTestTopics, recordCount, testKafka, TestTopics, uniqueName } from '../../testkit/kafka';
import { connectPublisher, CountingPublisher, testMqttTopics } from '../../testkit/mqtt';
import { nativeService } from '../../testkit/native-service';
import { createMigratedDatabase, TestDatabase } from '../../testkit/pg';
import { ServiceProcess } from '../../testkit/service-process';
import { waitUntil } from '../../testkit/wait';

/**
 * Mosquitto itself crashes: `kill -9` mid-stream, then started again. A device's PUBACK comes
 * from Mosquitto on receipt, so what it acknowledged is only as safe as its persistence: the
 * 2.1 SQLite plugin with flush period 0 commits each pass of its main loop, just after the
 * PUBACKs of that pass went out (2.0's snapshots every 2 s lost 60-70 % of a queue here).
 * Two settings: the bridge running (what it had in flight is redelivered), and the bridge
 * stopped, so that every acknowledged reading sits in the broker's queue for its session when
 * the broker dies, several times over. Each reading carries a unique time (a sequence number in
 * milliseconds), and every reading whose PUBACK the publisher received must be stored exactly
 * once. BROKER_KILLS (default 5 per setting) makes a longer measurement.
 */
const KILLS = Number(process.env.BROKER_KILLS ?? 5);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const DEVICES = 20;
/** PUBLISHes awaiting their PUBACK at once, as a gateway with a window would have. */
const WINDOW = 100;
/** Readings' times: from an hour ago, one millisecond apart, so that each is its own identity. */
const T0 = Date.now() - 3_600_000;

interface Outcome {
  setting: string;
  kills: number;
  sent: number;
  acknowledged: number;
  stored: number;
  lost: number;
  doubled: number;
  storedButNeverAcknowledged: number;
  /** Records on Kafka beyond the stored rows: redeliveries the writer dropped. */
  redeliveredOnKafka: number;
}

describe('broker crash (kill -9 of Mosquitto)', () => {
  let admin: Admin;
  const running = new Set<ServiceProcess>();
  const publishers: MqttClient[] = [];
  const databases: TestDatabase[] = [];
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    admin = testKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    await nativeService('mosquitto', 'start');
    await Promise.all([...running].map((p) => p.kill('SIGTERM')));
    await Promise.all(publishers.map((p) => new Promise<void>((resolve) => p.end(true, {}, () => resolve()))));
    await admin.disconnect();
    await Promise.all(databases.map((d) => d.drop()));
    process.stdout.write(`\nbroker kill figures (CHAOS_SEED=${SEED}, BROKER_KILLS=${KILLS}):\n${JSON.stringify(outcomes, null, 2)}\n`);
  });

  /** A bridge and a writer on fresh topics and a fresh database, and a publisher. */
  const pipeline = async (name: string) => {
    const [db, topics] = await Promise.all([createMigratedDatabase(name), createTestTopics(name, 3)]);
    databases.push(db);
    const mqttTopics = testMqttTopics();
    const env = { ...topics.env, ...mqttTopics.env, ...db.env, WRITER_GROUP_ID: uniqueName(`${name}-writer`) };
    const start = (command: string) => {
      const p = new ServiceProcess(command, [], env);
      running.add(p);
      return p;
    };
    const client = await connectPublisher();
    publishers.push(client);
    const reading = (i: number) =>
      JSON.stringify({ device_id: `kill-${i % DEVICES}`, temperature: 20 + (i % 7), humidity: 50, battery: 80, timestamp: T0 + i });
    return { db, topics, start, publisher: new CountingPublisher(client, mqttTopics.shared, reading, WINDOW) };
  };

  /** Kill -9, start again (service.sh waits until it answers a QoS 1 publish). */
  const crashBroker = async () => {
    await nativeService('mosquitto', 'kill');
    await nativeService('mosquitto', 'start');
  };

  /** Waits until the database has every acknowledged reading, or stops growing for 30 s; then counts. */
  const settle = async (
    setting: string,
    kills: number,
    db: TestDatabase,
    topics: TestTopics,
    publisher: CountingPublisher,
  ): Promise<Outcome> => {
    const count = async () => Number((await db.pool.query('SELECT count(*) AS n FROM device_telemetry')).rows[0].n);
    let last = -1;
    let lastGrowth = Date.now();
    await waitUntil(
      'every acknowledged reading stored, or no progress for 30 s',
      async () => {
        const n = await count();
        if (n > last) [last, lastGrowth] = [n, Date.now()];
        return n >= publisher.acked.size || Date.now() - lastGrowth > 30000;
      },
      600000,
      250,
    );
    const { rows } = await db.pool.query<{ ms: string }>('SELECT (extract(epoch FROM time) * 1000)::bigint AS ms FROM device_telemetry');
    const stored = new Map<number, number>();
    for (const r of rows) stored.set(Number(r.ms) - T0, (stored.get(Number(r.ms) - T0) ?? 0) + 1);
    const outcome: Outcome = {
      setting,
      kills,
      sent: publisher.sent,
      acknowledged: publisher.acked.size,
      stored: rows.length,
      lost: [...publisher.acked].filter((i) => !stored.has(i)).length,
      doubled: [...stored.values()].reduce((n, c) => n + (c - 1), 0),
      storedButNeverAcknowledged: [...stored.keys()].filter((i) => !publisher.acked.has(i)).length,
      redeliveredOnKafka: (await recordCount(admin, topics.telemetry)) - rows.length,
    };
    outcomes.push(outcome);
    return outcome;
  };

  it(
    `loses and doubles nothing acknowledged when Mosquitto is killed ${KILLS} times with the bridge running`,
    async () => {
      const rng = new Random(SEED);
      const { db, topics, start, publisher } = await pipeline('kill-live');
      const bridge = start('bridge');
      const writer = start('writer');
      await Promise.all([bridge.waitForLog(/bridge running/), writer.waitForLog(/joined group/)]);

      let done = false;
      const publishing = publisher.run(() => done, 1000);
      for (let k = 0; k < KILLS; k++) {
        // a random moment of normal flow (1-4 s), with readings reaching the database
        const before = publisher.acked.size;
        await new Promise((r) => setTimeout(r, 1000 + rng.int(3000)));
        await waitUntil('readings acknowledged again since the last crash', () => publisher.acked.size > before + 100, 60000);
        await crashBroker();
      }
      const afterLast = publisher.acked.size;
      await waitUntil('readings acknowledged after the last crash', () => publisher.acked.size > afterLast + 100, 60000);
      done = true;
      await publishing;
      await publisher.drain();

      const outcome = await settle('bridge running', KILLS, db, topics, publisher);
      expect(publisher.failed).toBe(0);
      expect(outcome.acknowledged).toBe(outcome.sent);
      expect({ lost: outcome.lost, doubled: outcome.doubled, strangers: outcome.storedButNeverAcknowledged }).toEqual({
        lost: 0,
        doubled: 0,
        strangers: 0,
      });
    },
    15 * 60_000,
  );

  it(
    `loses and doubles nothing of a queued backlog when Mosquitto is killed ${KILLS} times with the bridge stopped`,
    async () => {
      const rng = new Random(SEED + 1);
      const { db, topics, start, publisher } = await pipeline('kill-backlog');
      // The bridge makes its persistent session and subscription, then goes: everything from now
      // on queues in the broker for that session.
      const first = start('bridge');
      const writer = start('writer');
      await Promise.all([first.waitForLog(/bridge running/), writer.waitForLog(/joined group/)]);
      await first.kill('SIGTERM');

      for (let k = 0; k < KILLS; k++) {
        // publish as fast as the window allows and kill the broker while PUBACKs stream back,
        // after a random 500-3,000 acknowledgements of this round
        const target = publisher.acked.size + 500 + rng.int(2500);
        let done = false;
        const publishing = publisher.run(() => done);
        await waitUntil('acknowledgements streaming', () => publisher.acked.size >= target, 60000, 5);
        await crashBroker();
        done = true;
        await publishing;
        await publisher.drain();
      }
      const backlog = publisher.acked.size;
      const bridge = start('bridge');
      await bridge.waitForLog(/bridge running/);

      const outcome = await settle('bridge stopped, backlog queued', KILLS, db, topics, publisher);
      expect(backlog).toBeGreaterThanOrEqual(KILLS * 500);
      expect(publisher.failed).toBe(0);
      expect(outcome.acknowledged).toBe(outcome.sent);
      expect({ lost: outcome.lost, doubled: outcome.doubled, strangers: outcome.storedButNeverAcknowledged }).toEqual({
        lost: 0,
        doubled: 0,
        strangers: 0,
      });
    },
    15 * 60_000,
  );
});
