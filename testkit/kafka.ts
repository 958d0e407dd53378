import { randomBytes } from 'node:crypto';
import { Admin, Kafka, KafkaMessage, logLevel, Producer } from 'kafkajs';
import { AvroCodec, createRegistry } from '../lib/avro';
import { brokerList } from '../lib/config';
import { ensureTopics, subjectOf } from '../lib/topics';
import { Reading, telemetrySchemaText } from '../schemas';
import { waitUntil } from './wait';

export function testKafka(): Kafka {
  return new Kafka({ clientId: 'test', brokers: brokerList(process.env.KAFKA_BROKERS!), logLevel: logLevel.NOTHING });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface TestTopics {
  telemetry: string;
  alerts: string;
  dlq: string;
  /** The environment that points a service at these topics. */
  env: Record<string, string>;
}

export interface TestTopicOptions {
  /** Replicas of each topic; default KAFKA_REPLICATION_FACTOR (as the topics command), else 1. */
  replicationFactor?: number;
  /** The topics' min.insync.replicas; default KAFKA_MIN_INSYNC_REPLICAS, else the broker's. */
  minInsyncReplicas?: number;
}

/** Each test gets its own topics (KafkaJS's habit), so tests never see each other's records. */
export async function createTestTopics(prefix: string, partitions = 3, options: TestTopicOptions = {}): Promise<TestTopics> {
  const telemetry = uniqueName(`${prefix}.telemetry`);
  const alerts = uniqueName(`${prefix}.alerts`);
  const dlq = uniqueName(`${prefix}.dlq`);
  const fromEnv = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const replicationFactor = options.replicationFactor ?? fromEnv('KAFKA_REPLICATION_FACTOR') ?? 1;
  const minInsync = options.minInsyncReplicas ?? fromEnv('KAFKA_MIN_INSYNC_REPLICAS');
  const config = minInsync === undefined ? undefined : { 'min.insync.replicas': String(minInsync) };
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      { topic: telemetry, partitions, replicationFactor, config },
      { topic: alerts, partitions, replicationFactor, config },
      { topic: dlq, partitions: 1, replicationFactor, config },
    ]);
  } finally {
    await admin.disconnect();
  }
  return { telemetry, alerts, dlq, env: { TELEMETRY_TOPIC: telemetry, ALERTS_TOPIC: alerts, DLQ_TOPIC: dlq } };
}

export async function telemetryCodec(topic: string, schemaText = telemetrySchemaText): Promise<AvroCodec<Reading>> {
  const codec = new AvroCodec<Reading>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), schemaText);
  await codec.register(subjectOf(topic));
  return codec;
}

/** Reads a topic from the beginning until `count` messages have arrived. */
/**
 * Reads a topic from the beginning until `count` messages are in, or, with `done`, until it
 * says so (e.g. every distinct reading seen, when redeliveries put duplicates in the topic).
 */
export async function readTopic(
  topic: string,
  count: number,
  timeoutMs = 60000,
  done: (messages: readonly KafkaMessage[]) => boolean = (messages) => messages.length >= count,
): Promise<KafkaMessage[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader') });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitUntil(`${count} messages on ${topic}`, () => done(messages), timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  return value === undefined ? undefined : String(value);
}

/** Produces readings keyed by device, as the bridge does (acks = all), in requests of 2,000. */
export async function produceReadings(
  producer: Producer,
  topic: string,
  codec: AvroCodec<Reading>,
  readings: readonly Reading[],
): Promise<void> {
  for (let i = 0; i < readings.length; i += 2000) {
    await producer.send({
      topic,
      acks: -1,
      messages: readings.slice(i, i + 2000).map((r) => ({ key: r.device_id, value: codec.encode(r) })),
    });
  }
}

/** Records on `topic` now, over all partitions (high watermark minus log start). */
export async function recordCount(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

/** Records of `topic` that `groupId` has not committed yet, over all partitions (0: caught up). */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  return ends.reduce((lag, e) => {
    const offset = Number(committed.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
    return lag + Number(e.high) - Math.max(offset, Number(e.low));
  }, 0);
}
