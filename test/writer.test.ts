import { Producer } from 'kafkajs';
import { Pool } from 'pg';
import { AvroCodec, createRegistry } from '../lib/avro';
import { subjectOf } from '../lib/topics';
import { DLQ_HEADERS } from '../lib/dlq';
import { Reading, telemetrySchemaText } from '../schemas';
import { createTestTopics, header, produceReadings, readTopic, telemetryCodec, testKafka, TestTopics } from '../testkit/kafka';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const BASE_US = Date.UTC(2026, 10, 1) * 1000;

function reading(device: number, i: number): Reading {
  return {
    device_id: `dev-${device}`,
    time: BASE_US + i * 1_000_000 + 123, // microsecond precision must survive
    firmware: '1.0.0',
    temperature: 20 + (i % 7),
    humidity: 50,
    battery: 90,
    seq: i,
    ingested_at: Date.now(),
  };
}

async function stored(pool: Pool): Promise<{ rows: number; identities: number }> {
  const { rows } = await pool.query(
    'SELECT count(*)::int AS rows, count(DISTINCT (device_id, time))::int AS identities FROM device_telemetry',
  );
  return rows[0];
}

describe('writer', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let producer: Producer;
  const running: ServiceProcess[] = [];

  function startWriter(extra: Record<string, string> = {}): ServiceProcess {
    const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: `writer-${topics.telemetry}`, ...extra });
    running.push(writer);
    return writer;
  }

  beforeEach(async () => {
    db = await createMigratedDatabase('writer');
    topics = await createTestTopics('writer');
    producer = testKafka().producer();
    await producer.connect();
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await producer.disconnect();
    await db.drop();
  });

  it('stores every record once, skips redelivered identities, and its counters match', async () => {
    const codec = await telemetryCodec(topics.telemetry);
    const readings = [];
    for (let d = 0; d < 10; d++) for (let i = 0; i < 100; i++) readings.push(reading(d, i));
    // The first 100 again: a redelivery, as after a bridge crash.
    await produceReadings(producer, topics.telemetry, codec, [...readings, ...readings.slice(0, 100)]);

    const writer = startWriter();
    await waitUntil('1000 rows', async () => (await stored(db.pool)).rows === 1000);
    expect(await stored(db.pool)).toEqual({ rows: 1000, identities: 1000 });
    await waitUntil('counters', async () => (await writer.metricValue('iot_writer_rows_total', { result: 'skipped' })) === 100);
    expect(await writer.metricValue('iot_writer_rows_total', { table: 'device_telemetry', result: 'inserted' })).toBe(1000);

    const { rows } = await db.pool.query(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint AS us FROM device_telemetry WHERE device_id = 'dev-3' ORDER BY time LIMIT 1`,
    );
    expect(Number(rows[0].us)).toBe(BASE_US + 123);
  });

  it('loses and doubles nothing when killed with SIGKILL mid-stream', async () => {
    const codec = await telemetryCodec(topics.telemetry);
    // Several fetch rounds' worth (KafkaJS fetches up to 1 MiB a partition, ~20k readings): one
    // round is one transaction of the writer's fast path, so a smaller backlog can be stored
    // whole before the first poll sees it and the kill would not be mid-stream.
    const readings = [];
    for (let d = 0; d < 20; d++) for (let i = 0; i < 10_000; i++) readings.push(reading(d, i));
    await produceReadings(producer, topics.telemetry, codec, readings);

    const first = startWriter({ BATCH_SIZE: '500' });
    await waitUntil('some rows', async () => (await stored(db.pool)).rows > 2000);
    await first.kill('SIGKILL');
    const atKill = (await stored(db.pool)).rows;
    expect(atKill).toBeLessThan(readings.length);

    startWriter({ BATCH_SIZE: '500' });
    await waitUntil('all rows', async () => (await stored(db.pool)).rows >= readings.length, 120000);
    expect(await stored(db.pool)).toEqual({ rows: readings.length, identities: readings.length });
  });

  it('dead-letters an undecodable record with its reason and keeps going', async () => {
    const codec = await telemetryCodec(topics.telemetry);
    await producer.send({
      topic: topics.telemetry,
      acks: -1,
      messages: [
        { key: 'dev-1', value: codec.encode(reading(1, 1)) },
        { key: 'dev-1', value: Buffer.from('not avro at all') },
        { key: 'dev-1', value: codec.encode(reading(1, 2)) },
      ],
    });
    const writer = startWriter();
    await waitUntil('2 rows', async () => (await stored(db.pool)).rows === 2);
    const [dead] = await readTopic(topics.dlq, 1);
    expect(header(dead, DLQ_HEADERS.reason)).toBe('undecodable');
    expect(header(dead, DLQ_HEADERS.detail)).toMatch(/magic byte/);
    expect(header(dead, DLQ_HEADERS.source)).toMatch(new RegExp(`^kafka:${topics.telemetry.replace(/\./g, '\\.')}/\\d+@1$`));
    expect(dead.value?.toString()).toBe('not avro at all');
    await waitUntil(
      'rejected counter',
      async () => (await writer.metricValue('iot_writer_rejected_total', { reason: 'undecodable' })) === 1,
    );
  });

  it('keeps reading records written with a newer compatible schema (BACKWARD evolution)', async () => {
    const v1 = await telemetryCodec(topics.telemetry); // what this writer was built with
    const v2 = JSON.parse(telemetrySchemaText);
    v2.fields.push({ name: 'rssi', type: ['null', 'int'], default: null, doc: 'signal strength, dBm' });
    const codecV2 = new AvroCodec<Reading & { rssi: number | null }>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), JSON.stringify(v2));
    await codecV2.register(subjectOf(topics.telemetry)); // accepted as a compatible new version
    expect(codecV2.schemaId).not.toBe(v1.schemaId);

    await producer.send({
      topic: topics.telemetry,
      acks: -1,
      messages: [1, 2, 3].map((i) => ({
        key: 'dev-9',
        value: codecV2.encode({ ...reading(9, i), rssi: -70 }),
      })),
    });
    startWriter();
    await waitUntil('3 rows', async () => (await stored(db.pool)).rows === 3);
  });
});
