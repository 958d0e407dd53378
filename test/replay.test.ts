import { Admin, Producer } from 'kafkajs';
import { Pool } from 'pg';
import { Reading } from '../schemas';
import { createTestTopics, groupLag, produceReadings, telemetryCodec, testKafka, TestTopics, uniqueName } from '../testkit/kafka';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const BASE_US = Date.UTC(2026, 10, 1) * 1000;

/** Reading `i` of a device; `i` also orders the three phases' device times apart. */
function reading(device: number, i: number): Reading {
  return {
    device_id: `dev-${device}`,
    time: BASE_US + i * 1_000_000 + 7,
    firmware: '1.0.0',
    temperature: 20 + ((device * 31 + i) % 13) / 10,
    humidity: 50,
    battery: 90,
    seq: i,
    ingested_at: Date.now(),
  };
}

function phase(first: number, count: number): Reading[] {
  const out: Reading[] = [];
  for (let d = 0; d < 8; d++) for (let i = first; i < first + count; i++) out.push(reading(d, i));
  return out;
}

/** Every stored identity with its temperature, as `device@µs=temperature`, sorted. */
async function storedRows(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query(
    `SELECT device_id, (extract(epoch FROM time) * 1000000)::bigint AS us, temperature FROM device_telemetry ORDER BY 1, 2`,
  );
  return rows.map((r) => `${r.device_id}@${r.us}=${r.temperature}`);
}

const rowOf = (r: Reading) => `${r.device_id}@${r.time}=${r.temperature}`;

/** Waits until the clock has passed `ms`, so records produced next carry a later Kafka timestamp. */
const clockPast = (ms: number) => waitUntil('the clock to move on', () => Date.now() > ms, 1000, 1);

async function runReplay(env: Record<string, string>, args: string[]): Promise<{ code: number | null; output: string[] }> {
  const replay = new ServiceProcess('replay', args, env);
  const { code } = await replay.exited;
  return { code, output: replay.output };
}

describe('replay', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let producer: Producer;
  let admin: Admin;
  const running: ServiceProcess[] = [];

  beforeEach(async () => {
    db = await createMigratedDatabase('replay');
    topics = await createTestTopics('replay');
    producer = testKafka().producer();
    admin = testKafka().admin();
    await Promise.all([producer.connect(), admin.connect()]);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await db.drop();
  });

  it('brings back exactly the rows deleted from its range, doubling none, while a writer keeps running', async () => {
    const codec = await telemetryCodec(topics.telemetry);
    const before = phase(0, 300);
    const inRange = phase(300, 300);
    const after = phase(600, 300);
    const later = phase(900, 300);

    await produceReadings(producer, topics.telemetry, codec, before);
    const fromMs = Date.now();
    await clockPast(fromMs);
    await produceReadings(producer, topics.telemetry, codec, inRange);
    const toMs = Date.now() + 1;
    await clockPast(toMs);
    await produceReadings(producer, topics.telemetry, codec, after);

    const writerGroup = uniqueName('writer');
    const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: writerGroup });
    running.push(writer);
    const all = [...before, ...inRange, ...after];
    await waitUntil('every reading stored', async () => (await storedRows(db.pool)).length === all.length);
    expect(await storedRows(db.pool)).toEqual(all.map(rowOf).sort());

    // A bad restore: readings lost inside the range (every other device) and just outside it.
    const lostInRange = inRange.filter((r) => Number(r.device_id.slice(4)) % 2 === 0 && r.seq! % 3 !== 0);
    const lostOutside = [before[before.length - 1], after[0]];
    for (const r of [...lostInRange, ...lostOutside]) {
      await db.pool.query('DELETE FROM device_telemetry WHERE device_id = $1 AND time = to_timestamp($2::float8 / 1e6)', [
        r.device_id,
        r.time,
      ]);
    }
    expect((await storedRows(db.pool)).length).toBe(all.length - lostInRange.length - lostOutside.length);

    // The pipeline goes on: new readings arrive while the replay runs.
    const producing = produceReadings(producer, topics.telemetry, codec, later);
    const { code, output } = await runReplay({ ...topics.env, ...db.env }, [
      '--from',
      new Date(fromMs).toISOString(),
      '--to',
      String(toMs),
      '--json',
    ]);
    await producing;
    expect(code).toBe(0);
    const summary = JSON.parse(output.find((l) => l.startsWith('{"topic"'))!);
    expect(summary).toMatchObject({
      records: inRange.length,
      inserted: lostInRange.length,
      alreadyPresent: inRange.length - lostInRange.length,
      undecodable: 0,
    });

    const expected = [...all, ...later]
      .filter((r) => !lostOutside.includes(r))
      .map(rowOf)
      .sort();
    await waitUntil('the later readings stored', async () => (await storedRows(db.pool)).length === expected.length);
    expect(await storedRows(db.pool)).toEqual(expected);
    // The writers' group was not used: it has consumed everything itself and still owns its offsets.
    await waitUntil('the writer to commit everything', async () => (await groupLag(admin, writerGroup, topics.telemetry)) === 0);
    expect(await writer.metricValue('iot_writer_rows_total', { table: 'device_telemetry', result: 'inserted' })).toBe(
      all.length + later.length,
    );
  });

  it('refuses a range that Kafka no longer retains and says what it does retain', async () => {
    const codec = await telemetryCodec(topics.telemetry);
    const fromMs = Date.now() - 1;
    await produceReadings(producer, topics.telemetry, codec, phase(0, 50));
    const ends = await admin.fetchTopicOffsets(topics.telemetry);
    // What retention does to old segments: the oldest half of every partition is deleted.
    await admin.deleteTopicRecords({
      topic: topics.telemetry,
      partitions: ends.map((e) => ({ partition: e.partition, offset: String(Math.floor(Number(e.high) / 2)) })),
    });

    const { code, output } = await runReplay({ ...topics.env, ...db.env }, ['--from', String(fromMs)]);
    expect(code).toBe(3);
    const text = output.join('\n');
    expect(text).toContain(`Kafka no longer retains ${topics.telemetry} from ${new Date(fromMs).toISOString()}`);
    expect(text).toMatch(/it keeps partition \d from \S+ \(offset \d+\)/);
    expect(text).toMatch(/use --from \S+ or later/);
    expect(await storedRows(db.pool)).toEqual([]);

    // From where every partition is retained the same range is accepted.
    const retainedFrom = /use --from (\S+) or later/.exec(text)![1];
    const retry = await runReplay({ ...topics.env, ...db.env }, ['--from', retainedFrom, '--json']);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.output.find((l) => l.startsWith('{"topic"'))!).records).toBeGreaterThan(0);
  });
});
