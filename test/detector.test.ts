import { Admin, KafkaMessage, Producer } from 'kafkajs';
import { alertJson, formatAlert } from '../schemas/alert-format';
import { AvroCodec, createRegistry } from '../lib/avro';
import { partitionOfKey } from '../lib/partition';
import { subjectOf } from '../lib/topics';
import { Random } from '../simulator/prng';
import { Alert, alertSchemaText, Reading } from '../schemas';
import {
  createTestTopics,
  groupLag,
  produceReadings,
  readTopic,
  recordCount,
  telemetryCodec,
  testKafka,
  TestTopics,
  uniqueName,
} from '../testkit/kafka';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const S = 1_000_000;

/** Settings that make a test's few minutes of readings enough for every rule. */
const FAST_RULES = {
  DETECTOR_WINDOW_SECONDS: '120',
  DETECTOR_TICK_MS: '200',
  INACTIVE_AFTER_SECONDS: '30',
  ALERT_COOLDOWN_SECONDS: '60',
};

function reading(device: string, timeUs: number, fields: Partial<Reading> = {}): Reading {
  return {
    device_id: device,
    time: timeUs,
    firmware: '1.0.0',
    temperature: 20,
    humidity: 50,
    battery: 90,
    seq: null,
    ingested_at: Date.now(),
    ...fields,
  };
}

/** A small, deterministic wobble so the window has a spread to score against. */
const wobble = (i: number) => 0.2 * Math.sin(i * 1.7) + 0.1 * Math.cos(i * 0.3);

/** Every record of a topic, from the beginning to its current end. */
async function readAll(admin: Admin, topic: string): Promise<KafkaMessage[]> {
  const count = await recordCount(admin, topic);
  return count === 0 ? [] : readTopic(topic, count);
}

async function decodeAlerts(messages: KafkaMessage[]): Promise<Alert[]> {
  const codec = new AvroCodec<Alert>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), alertSchemaText);
  await codec.prepare(messages.map((m) => m.value));
  return messages.map((m) => codec.decode(m.value));
}

/** True once the group has committed every partition of the topic up to its end. */
const caughtUp = async (admin: Admin, groupId: string, topic: string) => (await groupLag(admin, groupId, topic)) === 0;

/** 40 devices × 400 readings every 5 s, 3 h ago: noise, spikes, battery crossings, sequence gaps. */
function mixedStream(): Reading[] {
  const rng = new Random(20261202);
  const t0 = (Date.now() - 3 * 3600_000) * 1000;
  const devices = Array.from({ length: 40 }, (_, d) => ({ id: `dev-${d}`, battery: 22 + rng.uniform(0, 10), seq: 0 }));
  const stream: Reading[] = [];
  for (let i = 0; i < 400; i++) {
    for (const d of devices) {
      d.battery = Math.max(5, d.battery - rng.uniform(0, 0.08));
      d.seq += rng.chance(0.01) ? 3 : 1;
      const spike = rng.chance(0.004) ? 8 * rng.sign() : 0;
      stream.push(
        reading(d.id, t0 + i * 5 * S, {
          temperature: 20 + 0.3 * rng.normal() + spike,
          humidity: 50 + rng.normal(),
          battery: Number(d.battery.toFixed(1)),
          seq: d.seq,
        }),
      );
    }
  }
  return stream;
}

/** No silence alerts in the restart tests: ticks depend on timing, every other rule on the stream alone. */
const NO_SILENCE = { INACTIVE_AFTER_SECONDS: '86400', INACTIVE_MAX_SECONDS: '86400' };

describe('detector service', () => {
  let topics: TestTopics;
  let producer: Producer;
  let admin: Admin;
  let codec: AvroCodec<Reading>;
  const running: ServiceProcess[] = [];

  function startDetector(groupId: string, extra: Record<string, string> = {}): ServiceProcess {
    const detector = new ServiceProcess('detector', [], { ...topics.env, DETECTOR_GROUP_ID: groupId, ...FAST_RULES, ...extra });
    running.push(detector);
    return detector;
  }

  beforeEach(async () => {
    topics = await createTestTopics('detector');
    codec = await telemetryCodec(topics.telemetry);
    producer = testKafka().producer();
    admin = testKafka().admin();
    await Promise.all([producer.connect(), admin.connect()]);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  describe('with a writer sinking the alerts', () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createMigratedDatabase('detector');
    });
    afterEach(() => db.drop());

    it('an injected spike yields exactly one alert on the topic and one row in device_alerts; a stuck sensor, one stuck_sensor alert', async () => {
      const t0 = (Date.now() - 300_000) * 1000;
      const spikeAt = 50;
      // dev-stuck repeats 20.5 from reading 40 to 64: its 20th equal reading (59) completes the run.
      const stuck = (i: number) => i >= 40 && i < 65;
      const readings = Array.from({ length: 80 }, (_, i) => [
        reading('dev-spike', t0 + i * S, { temperature: 20 + wobble(i) + (i === spikeAt ? 15 : 0), seq: i }),
        reading('dev-stuck', t0 + i * S, { temperature: stuck(i) ? 20.5 : 20 + wobble(i), seq: i }),
      ]).flat();
      const groupId = uniqueName('detector');
      const detector = startDetector(groupId);
      const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: uniqueName('writer') });
      running.push(writer);
      await detector.waitForLog(/detector running/);
      await produceReadings(producer, topics.telemetry, codec, readings);
      await waitUntil('the detector to commit every reading', () => caughtUp(admin, groupId, topics.telemetry));

      const alerts = await decodeAlerts(await readAll(admin, topics.alerts));
      const anomalies = alerts.filter((a) => a.kind === 'anomaly');
      expect(anomalies).toHaveLength(1);
      expect(anomalies[0]).toMatchObject({ device_id: 'dev-spike', metric: 'temperature', reading_time: t0 + spikeAt * S });
      expect(anomalies[0].z!).toBeGreaterThan(4.2);
      const stuckAlerts = alerts.filter((a) => a.kind === 'stuck_sensor');
      expect(stuckAlerts).toHaveLength(1);
      expect(stuckAlerts[0]).toMatchObject({
        device_id: 'dev-stuck',
        metric: 'temperature',
        value: 20.5,
        threshold: 20,
        reading_time: t0 + 59 * S,
      });

      const rows = await waitUntil('the alert rows', async () => {
        const r = await db.pool.query(
          "SELECT alert_id, kind, metric FROM device_alerts WHERE kind IN ('anomaly', 'stuck_sensor') ORDER BY kind",
        );
        return r.rows.length >= 2 ? r.rows : null;
      });
      expect(rows).toEqual([
        { alert_id: anomalies[0].alert_id, kind: 'anomaly', metric: 'temperature' },
        { alert_id: stuckAlerts[0].alert_id, kind: 'stuck_sensor', metric: 'temperature' },
      ]);
      expect(await detector.metricValue('iot_detector_alerts_total', { kind: 'anomaly' })).toBe(1);
      expect(await detector.metricValue('iot_detector_alerts_total', { kind: 'stuck_sensor' })).toBe(1);
      expect(await detector.metricValue('iot_detector_readings_total', { outcome: 'accepted' })).toBe(readings.length);
    });
  });

  it('a battery crossing below the threshold yields one low-battery alert, none while it stays low', async () => {
    const t0 = (Date.now() - 300_000) * 1000;
    // 30 % down to 12 % and staying there for a minute; the threshold is 20 %.
    const readings = Array.from({ length: 90 }, (_, i) =>
      reading('dev-battery', t0 + i * S, { battery: Math.max(12, 30 - i * 0.5), temperature: 20 + wobble(i) }),
    );
    const groupId = uniqueName('detector');
    startDetector(groupId);
    await produceReadings(producer, topics.telemetry, codec, readings);
    await waitUntil('the detector to commit every reading', () => caughtUp(admin, groupId, topics.telemetry));
    const low = (await decodeAlerts(await readAll(admin, topics.alerts))).filter((a) => a.kind === 'low_battery');
    expect(low).toHaveLength(1);
    const firstBelow = readings.find((r) => r.battery! < 20)!;
    expect(low[0]).toMatchObject({ device_id: 'dev-battery', reading_time: firstBelow.time, value: firstBelow.battery });
  });

  it('a silent device yields one inactive alert and, when it speaks again, one recovered alert', async () => {
    const t0 = (Date.now() - 600_000) * 1000;
    const both = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => from + k).flatMap((i) => [
        reading('dev-quiet', t0 + i * S, { temperature: 20 + wobble(i) }),
        reading('dev-chatty', t0 + i * S + 500, { temperature: 21 + wobble(i) }),
      ]);
    const chattyOnly = (from: number, to: number) => both(from, to).filter((r) => r.device_id === 'dev-chatty');
    const groupId = uniqueName('detector');
    startDetector(groupId);

    // Both report for 40 s; then only dev-chatty, for 90 s of event time.
    await produceReadings(producer, topics.telemetry, codec, [...both(0, 40), ...chattyOnly(40, 130)]);
    const alertsOf = async (device: string) =>
      (await decodeAlerts(await readAll(admin, topics.alerts))).filter((a) => a.device_id === device);
    const inactive = await waitUntil('device_inactive for dev-quiet', async () => {
      const found = (await alertsOf('dev-quiet')).filter((a) => a.kind === 'device_inactive');
      return found.length > 0 ? found : undefined;
    });
    expect(inactive).toHaveLength(1);
    expect(inactive[0].reading_time).toBe(t0 + 39 * S);

    // dev-quiet speaks again.
    await produceReadings(producer, topics.telemetry, codec, both(130, 140));
    const recovered = await waitUntil('device_recovered for dev-quiet', async () => {
      const found = (await alertsOf('dev-quiet')).filter((a) => a.kind === 'device_recovered');
      return found.length > 0 ? found : undefined;
    });
    expect(recovered).toHaveLength(1);
    expect(recovered[0].reading_time).toBe(t0 + 130 * S);
    await waitUntil('the detector to commit every reading', () => caughtUp(admin, groupId, topics.telemetry));
    const quiet = await alertsOf('dev-quiet');
    expect(quiet.filter((a) => a.kind === 'device_inactive')).toHaveLength(1);
    expect(quiet.filter((a) => a.kind === 'device_recovered')).toHaveLength(1);
    // The other device never went silent while readings flowed.
    expect((await alertsOf('dev-chatty')).filter((a) => a.kind === 'device_recovered')).toHaveLength(0);
  });

  it('works through a backlog of the whole fleet without a false device_inactive alert, and reports the one real silence in it', async () => {
    // 60 devices × 30 min, one reading a second, all in Kafka before the detector starts: it
    // reaches the last partitions' devices long after the first partitions have moved event
    // time to the present. Silence limit 120 s; dev-59 really went quiet 10 minutes before the end.
    const t0 = (Date.now() - 1800_000) * 1000;
    const readings: Reading[] = [];
    for (let i = 0; i < 1800; i++) {
      for (let d = 0; d < 60; d++)
        if (d < 59 || i < 1200) readings.push(reading(`dev-${d}`, t0 + i * S + d * 1000, { temperature: 20 + wobble(i + d) }));
    }
    await produceReadings(producer, topics.telemetry, codec, readings);
    const groupId = uniqueName('detector');
    const detector = startDetector(groupId, { INACTIVE_AFTER_SECONDS: '120' });
    // One tick's alerts go out together: once the real one is there, any false one would be too.
    const inactive = await waitUntil(
      'the real silence to be reported',
      async () => {
        const found = (await decodeAlerts(await readAll(admin, topics.alerts))).filter((a) => a.kind === 'device_inactive');
        return found.length > 0 ? found : undefined;
      },
      120000,
    );
    expect(inactive.map((a) => [a.device_id, a.reading_time])).toEqual([['dev-59', t0 + 1199 * S + 59 * 1000]]);
    expect(await detector.metricValue('iot_detector_silence_checks_held_total')).toBeGreaterThan(0);
    await waitUntil('the detector to commit the backlog', () => caughtUp(admin, groupId, topics.telemetry));
    expect(await detector.metricValue('iot_detector_readings_total', { outcome: 'accepted' })).toBe(readings.length);
  });

  it('killed with SIGKILL mid-stream and restarted, it produces the same alert ids as an uninterrupted run', async () => {
    const stream = mixedStream();
    const rules = NO_SILENCE;
    const half = stream.length / 2;
    await produceReadings(producer, topics.telemetry, codec, stream.slice(0, half));

    const killedGroup = uniqueName('detector-killed');
    const killedAlerts = uniqueName('detector.alerts-killed');
    const uninterruptedAlerts = uniqueName('detector.alerts-whole');
    await admin.createTopics({
      topics: [killedAlerts, uninterruptedAlerts].map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
    const first = startDetector(killedGroup, { ...rules, ALERTS_TOPIC: killedAlerts });
    await waitUntil(
      'the first detector to commit a batch',
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId: killedGroup, topics: [topics.telemetry] });
        return committed.partitions.some((p) => Number(p.offset) > 0);
      },
      60000,
      20,
    );
    await first.kill('SIGKILL');
    await produceReadings(producer, topics.telemetry, codec, stream.slice(half));

    const second = startDetector(killedGroup, { ...rules, ALERTS_TOPIC: killedAlerts });
    const wholeGroup = uniqueName('detector-whole');
    startDetector(wholeGroup, { ...rules, ALERTS_TOPIC: uninterruptedAlerts });
    await waitUntil('the restarted detector to commit every reading', () => caughtUp(admin, killedGroup, topics.telemetry), 120000);
    await waitUntil('the uninterrupted detector to commit every reading', () => caughtUp(admin, wholeGroup, topics.telemetry), 120000);

    const restarted = (await decodeAlerts(await readAll(admin, killedAlerts))).map((a) => a.alert_id);
    const uninterrupted = await decodeAlerts(await readAll(admin, uninterruptedAlerts));
    const kinds = new Set(uninterrupted.map((a) => a.kind));
    expect(kinds).toEqual(new Set(['anomaly', 'low_battery', 'data_gap']));
    expect(new Set(restarted).size).toBe(restarted.length); // none repeated
    expect(new Set(restarted)).toEqual(new Set(uninterrupted.map((a) => a.alert_id)));
    expect(await second.metricValue('iot_detector_replayed_readings_total')).toBeGreaterThan(0);
  });

  it('scales out and back in: a second detector joins mid-stream, then the first leaves; together they emit exactly the alerts of one uninterrupted detector', async () => {
    const stream = mixedStream();
    const third = Math.floor(stream.length / 3);
    const groupAlerts = uniqueName('detector.alerts-group');
    const wholeAlerts = uniqueName('detector.alerts-whole');
    await admin.createTopics({ topics: [groupAlerts, wholeAlerts].map((topic) => ({ topic, numPartitions: 3 })), waitForLeaders: true });
    const groupId = uniqueName('detector-group');
    const env = { ...NO_SILENCE, ALERTS_TOPIC: groupAlerts };

    await produceReadings(producer, topics.telemetry, codec, stream.slice(0, third));
    const first = startDetector(groupId, env);
    await waitUntil('the first detector to commit the first third', () => caughtUp(admin, groupId, topics.telemetry), 120000);
    // Scale out: the group splits the partitions; each side replays what it was handed.
    const second = startDetector(groupId, env);
    await second.waitForLog(/assignment ready/);
    await produceReadings(producer, topics.telemetry, codec, stream.slice(third, 2 * third));
    await waitUntil('the pair to commit the second third', () => caughtUp(admin, groupId, topics.telemetry), 120000);
    // Each holds part of the topic (the group logs its assignment on every join).
    const assigned = (p: ServiceProcess) =>
      (JSON.parse(p.output.filter((l) => l.includes('"joined group"')).pop()!) as { partitions: number[] }).partitions;
    expect([assigned(first).length, assigned(second).length].sort()).toEqual([1, 2]);
    // Scale in: the first leaves (graceful stop); the second takes every partition.
    await first.kill('SIGTERM');
    await produceReadings(producer, topics.telemetry, codec, stream.slice(2 * third));
    await waitUntil('the second detector to commit everything', () => caughtUp(admin, groupId, topics.telemetry), 120000);

    const wholeGroup = uniqueName('detector-whole');
    startDetector(wholeGroup, { ...NO_SILENCE, ALERTS_TOPIC: wholeAlerts });
    await waitUntil('the uninterrupted detector to commit every reading', () => caughtUp(admin, wholeGroup, topics.telemetry), 120000);
    const whole = await decodeAlerts(await readAll(admin, wholeAlerts));
    const group = (await decodeAlerts(await readAll(admin, groupAlerts))).map((a) => a.alert_id);
    expect(new Set(whole.map((a) => a.kind))).toEqual(new Set(['anomaly', 'low_battery', 'data_gap']));
    expect(new Set(group).size).toBe(group.length); // none repeated
    expect(new Set(group)).toEqual(new Set(whole.map((a) => a.alert_id)));
    expect(await second.metricValue('iot_detector_replayed_readings_total')).toBeGreaterThan(0);
  });

  it('maps devices to partitions as the producers do (the alert recall depends on it)', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `device-${i}`);
    await produceReadings(
      producer,
      topics.telemetry,
      codec,
      ids.map((id) => reading(id, Date.now() * 1000)),
    );
    const consumer = testKafka().consumer({ groupId: uniqueName('partition-check') });
    const seen = new Map<string, number>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: topics.telemetry, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }) => void seen.set(String(message.key), partition) });
      await waitUntil('every device seen', () => seen.size === ids.length);
    } finally {
      await consumer.disconnect();
    }
    for (const id of ids) expect(partitionOfKey(id, 3)).toBe(seen.get(id));
  });

  it('iot-pipeline alerts tails the alerts topic: a readable line per alert, or a JSON object per alert with --json', async () => {
    const alertCodec = new AvroCodec<Alert>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), alertSchemaText);
    await alertCodec.register(subjectOf(topics.alerts));
    const t = Date.UTC(2026, 11, 2, 3, 0, 0) * 1000;
    const common = { mean: null, stddev: null, z: null, threshold: null, details: null, detected_at: Date.UTC(2026, 11, 2, 3, 0, 1) };
    const sent: Alert[] = [
      {
        ...common,
        alert_id: 'a1',
        device_id: 'dev-a',
        kind: 'anomaly',
        metric: 'temperature',
        value: 35.2,
        mean: 21.3,
        stddev: 0.4,
        z: 34.5,
        threshold: 4.2,
        reading_time: t,
      },
      {
        ...common,
        alert_id: 'a2',
        device_id: 'dev-b',
        kind: 'stuck_sensor',
        metric: 'humidity',
        value: 48.1,
        stddev: 0.9,
        threshold: 20,
        reading_time: t + S,
      },
      {
        ...common,
        alert_id: 'a3',
        device_id: 'dev-c',
        kind: 'device_inactive',
        metric: null,
        value: null,
        threshold: 300,
        reading_time: t + 2 * S,
      },
    ];
    await producer.send({ topic: topics.alerts, messages: sent.map((a) => ({ key: a.device_id, value: alertCodec.encode(a) })) });

    const text = new ServiceProcess('alerts', ['--from-beginning'], topics.env);
    const json = new ServiceProcess('alerts', ['--from-beginning', '--json'], topics.env);
    running.push(text, json);
    const textLines = () => text.output.filter((l) => l.startsWith('2026-'));
    const jsonLines = () => json.output.filter((l) => l.includes('"alert_id"'));
    await waitUntil('both tails to print every alert', () => textLines().length >= sent.length && jsonLines().length >= sent.length);
    // Keys spread the alerts over partitions, so their order across devices is not fixed.
    expect(textLines().sort()).toEqual(sent.map(formatAlert).sort());
    const byId = (a: { alert_id: string }, b: { alert_id: string }) => a.alert_id.localeCompare(b.alert_id);
    expect(
      jsonLines()
        .map((l) => JSON.parse(l))
        .sort(byId),
    ).toEqual(sent.map((a) => JSON.parse(alertJson(a))));
  });
});
