import { randomBytes } from 'node:crypto';
import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { AvroCodec, createRegistry } from '../../lib/avro';
import { brokerList } from '../../lib/config';
import { ensureTopics, subjectOf } from '../../lib/topics';
import { Reading, telemetrySchemaText } from '../../schemas';
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

/** Each test gets its own topics (KafkaJS's habit), so tests never see each other's records. */
export async function createTestTopics(prefix: string, partitions = 3): Promise<TestTopics> {
  const telemetry = uniqueName(`${prefix}.telemetry`);
  const alerts = uniqueName(`${prefix}.alerts`);
  const dlq = uniqueName(`${prefix}.dlq`);
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      { topic: telemetry, partitions, replicationFactor: 1 },
      { topic: alerts, partitions, replicationFactor: 1 },
      { topic: dlq, partitions: 1, replicationFactor: 1 },
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
export async function readTopic(topic: string, count: number, timeoutMs = 60000): Promise<KafkaMessage[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader') });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitUntil(`${count} messages on ${topic}`, () => messages.length >= count, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  return value === undefined ? undefined : String(value);
}
