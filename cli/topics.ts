import { parseArgs } from 'node:util';
import { AvroCodec, createRegistry } from '../lib/avro';
import { kafkaSchema, loadConfig, registrySchema } from '../lib/config';
import { createKafka } from '../lib/kafka';
import { createLogger } from '../lib/log';
import { ensureTopics, subjectOf } from '../lib/topics';
import { alertSchemaText, telemetrySchemaText } from '../schemas';
import { notifySchema } from '../notify/config';

const topicsSchema = {
  kafka: kafkaSchema,
  registry: registrySchema,
  notify: { deadLetterTopic: notifySchema.notify.deadLetterTopic },
  topics: {
    telemetryPartitions: {
      doc: 'Partitions of the telemetry topic (the most writers/detectors that share work)',
      format: 'positive-int',
      default: 12,
      env: 'TELEMETRY_PARTITIONS',
    },
    alertsPartitions: { doc: 'Partitions of the alerts topic', format: 'positive-int', default: 3, env: 'ALERTS_PARTITIONS' },
    dlqPartitions: { doc: 'Partitions of the dead-letter topic', format: 'positive-int', default: 1, env: 'DLQ_PARTITIONS' },
    replicationFactor: { doc: 'Replicas of every topic', format: 'positive-int', default: 1, env: 'KAFKA_REPLICATION_FACTOR' },
    minInsyncReplicas: {
      doc: 'min.insync.replicas of every topic (acks=all waits for this many)',
      format: 'positive-int',
      default: 1,
      env: 'KAFKA_MIN_INSYNC_REPLICAS',
    },
    telemetryRetentionHours: {
      doc: 'How long Kafka keeps readings (the replay horizon)',
      format: 'positive-int',
      default: 168,
      env: 'TELEMETRY_RETENTION_HOURS',
    },
  },
};

/** `iot-pipeline topics`: create the pipeline's topics and register their value schemas. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { partitions: { type: 'string' } } });
  const config = loadConfig(topicsSchema, { 'topics.telemetryPartitions': values.partitions });
  const logger = createLogger('topics');
  const t = config.topics;
  const common = { 'min.insync.replicas': String(t.minInsyncReplicas) };
  const admin = createKafka(config.kafka, logger, 'admin').admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, [
      {
        topic: config.kafka.telemetryTopic,
        partitions: t.telemetryPartitions,
        replicationFactor: t.replicationFactor,
        config: { ...common, 'retention.ms': String(t.telemetryRetentionHours * 3600_000) },
      },
      { topic: config.kafka.alertsTopic, partitions: t.alertsPartitions, replicationFactor: t.replicationFactor, config: common },
      { topic: config.kafka.dlqTopic, partitions: t.dlqPartitions, replicationFactor: t.replicationFactor, config: common },
      { topic: config.notify.deadLetterTopic, partitions: t.dlqPartitions, replicationFactor: t.replicationFactor, config: common },
    ]);
    console.log(created.length ? `created topics: ${created.join(', ')}` : 'topics already exist');
  } finally {
    await admin.disconnect();
  }
  const registry = createRegistry(config.registry.url);
  for (const [topic, text] of [
    [config.kafka.telemetryTopic, telemetrySchemaText],
    [config.kafka.alertsTopic, alertSchemaText],
  ]) {
    const id = await new AvroCodec(registry, text).register(subjectOf(topic));
    console.log(`schema ${subjectOf(topic)}: id ${id} (BACKWARD)`);
  }
}
