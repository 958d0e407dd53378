import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import { AcknowledgedSender } from '../lib/acknowledged-send';
import { AvroCodec, createRegistry } from '../lib/avro';
import { loadConfig } from '../lib/config';
import { ConfigError } from '../lib/errors';
import { createKafka, consumerTimings } from '../lib/kafka';
import { followConsumerGroup, startService, waitFor } from '../lib/service';
import { subjectOf } from '../lib/topics';
import { Alert, alertSchemaText, Reading, telemetrySchemaText } from '../schemas';
import { detectorServiceSchema } from './config';
import { DetectorPrometheus } from './prometheus';
import { DetectorLoop } from './service';
import { checkDetectorSettings } from './settings';

/**
 * `iot-pipeline detector`: its own consumer group on the telemetry topic → per-device
 * sliding windows and rules → alerts on the alerts topic (keyed by device).
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { group: { type: 'string' }, 'z-threshold': { type: 'string' } } });
  const config = loadConfig(detectorServiceSchema, { 'service.groupId': values.group, 'detector.zThreshold': values['z-threshold'] });
  const problems = checkDetectorSettings(config.detector);
  if (problems.length > 0) throw new ConfigError(problems);

  const service = await startService('detector', config.metrics.port);
  const { logger, lifecycle } = service;
  const metrics = new DetectorPrometheus(service.metrics);

  const registry = createRegistry(config.registry.url);
  const readings = new AvroCodec<Reading>(registry, telemetrySchemaText);
  const alerts = new AvroCodec<Alert>(registry, alertSchemaText);
  await waitFor('schema registry', () => alerts.register(subjectOf(config.kafka.alertsTopic)), logger);

  const kafka = createKafka(config.kafka, logger, 'detector');
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: config.service.groupId, allowAutoTopicCreation: false, ...consumerTimings(config.kafka) });
  await waitFor('Kafka', () => Promise.all([admin.connect(), producer.connect()]), logger);
  lifecycle.onShutdown('kafka admin', () => admin.disconnect());
  lifecycle.onShutdown('alerts producer', () => producer.disconnect());

  const loop = new DetectorLoop(
    { kafka, admin, consumer, alertSender: new AcknowledgedSender(producer, admin), readings, alerts },
    {
      groupId: config.service.groupId,
      telemetryTopic: config.kafka.telemetryTopic,
      alertsTopic: config.kafka.alertsTopic,
      fromBeginning: config.service.fromBeginning,
      caughtUpLag: config.service.caughtUpLag,
      settings: config.detector,
    },
    metrics,
    logger,
    () => lifecycle.isStopping,
  );

  await consumer.connect();
  // Runs first on shutdown: stop fetching; the batch in hand finishes, its alerts sent and offset committed.
  lifecycle.onShutdown('consumer', () => consumer.disconnect());
  const timer = setInterval(() => {
    loop.tick().catch((err) => logger.warn({ err }, 'silence check failed'));
  }, config.service.tickMs);
  lifecycle.onShutdown('silence checks', async () => clearInterval(timer));

  followConsumerGroup(consumer, service, (e) => {
    const partitions = e.payload.memberAssignment[config.kafka.telemetryTopic] ?? [];
    logger.info({ partitions }, 'joined group');
    loop.onAssignment(partitions);
  });

  await consumer.subscribe({ topics: [config.kafka.telemetryTopic], fromBeginning: config.service.fromBeginning });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: loop.eachBatch });
  logger.info(
    {
      topic: config.kafka.telemetryTopic,
      alerts: config.kafka.alertsTopic,
      group: config.service.groupId,
      zThreshold: config.detector.zThreshold,
    },
    'detector running',
  );
}
