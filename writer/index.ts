import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import { AcknowledgedSender } from '../lib/acknowledged-send';
import { createRegistry, AvroCodec } from '../lib/avro';
import { loadConfig } from '../lib/config';
import { createKafka, consumerTimings } from '../lib/kafka';
import { createPool } from '../lib/postgres';
import { followConsumerGroup, startService, waitFor } from '../lib/service';
import { Alert, alertSchemaText, Reading, telemetrySchemaText } from '../schemas';
import { writerSchema } from './config';
import { createBatchHandler } from './consumer';
import { writerMetrics } from './metrics';
import { createTopicSink, TopicSink } from './sink';
import { alertTable, telemetryTable } from './tables';

/** `iot-pipeline writer`: Kafka consumer group → COPY batches into PostgreSQL/TimescaleDB. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'batch-size': { type: 'string' }, 'linger-ms': { type: 'string' }, group: { type: 'string' } },
  });
  const config = loadConfig(writerSchema, {
    'writer.batchSize': values['batch-size'],
    'writer.lingerMs': values['linger-ms'],
    'writer.groupId': values.group,
  });
  const service = await startService('writer', config.metrics.port);
  const { logger, lifecycle } = service;
  const metrics = writerMetrics(service.metrics);

  const pool = createPool(config.postgres, 'iot-writer', 4, logger);
  lifecycle.onShutdown('postgres pool', () => pool.end());
  await waitFor('PostgreSQL', () => pool.query('SELECT 1 FROM device_telemetry LIMIT 0'), logger);

  const registry = createRegistry(config.registry.url);
  const sinkOptions = { batchSize: config.writer.batchSize, lingerMs: config.writer.lingerMs };
  const sinks = new Map<string, TopicSink<unknown>>();
  const telemetry = createTopicSink<Reading>(
    config.kafka.telemetryTopic,
    telemetryTable,
    new AvroCodec<Reading>(registry, telemetrySchemaText),
    pool,
    sinkOptions,
    metrics,
  );
  sinks.set(telemetry.topic, telemetry as TopicSink<unknown>);
  if (config.writer.sinkAlerts) {
    const alerts = createTopicSink<Alert>(
      config.kafka.alertsTopic,
      alertTable,
      new AvroCodec<Alert>(registry, alertSchemaText),
      pool,
      sinkOptions,
      metrics,
    );
    sinks.set(alerts.topic, alerts as TopicSink<unknown>);
  }

  const kafka = createKafka(config.kafka, logger, 'writer');
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: config.writer.groupId, allowAutoTopicCreation: false, ...consumerTimings(config.kafka) });
  const admin = kafka.admin();
  await waitFor('Kafka', () => Promise.all([producer.connect(), admin.connect()]), logger);
  lifecycle.onShutdown('kafka admin', () => admin.disconnect());
  lifecycle.onShutdown('dlq producer', () => producer.disconnect());
  const deadLetters = new AcknowledgedSender(producer, admin);
  lifecycle.onShutdown('batchers', async () => {
    for (const sink of sinks.values()) await sink.batcher.drain();
  });
  await consumer.connect();
  // Runs first on shutdown: stop fetching and let in-flight batches finish and commit.
  lifecycle.onShutdown('consumer', () => consumer.disconnect());

  followConsumerGroup(consumer, service, (e) => logger.info({ assignment: e.payload.memberAssignment }, 'joined group'));

  await consumer.subscribe({ topics: [...sinks.keys()], fromBeginning: config.writer.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 16,
    eachBatch: createBatchHandler(
      sinks,
      consumer,
      deadLetters,
      { dlqTopic: config.kafka.dlqTopic, retryMaxMs: config.writer.retryMaxMs },
      metrics,
      logger,
    ),
  });
  logger.info({ topics: [...sinks.keys()], group: config.writer.groupId, batchSize: config.writer.batchSize }, 'writer running');
}
