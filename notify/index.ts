import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import { AcknowledgedSender } from '../lib/acknowledged-send';
import { AvroCodec, createRegistry } from '../lib/avro';
import { consumerTimings, createKafka } from '../lib/kafka';
import { followConsumerGroup, startService, waitFor } from '../lib/service';
import { Alert, alertSchemaText } from '../schemas';
import { loadNotifyConfig } from './config';
import { notifyMetrics } from './metrics';
import { createNotifier } from './notifier';
import { postAlert } from './post';
import { WebhookFormat } from './webhook';

/** `iot-pipeline notify --webhook <url> [--format json|slack]`: alerts topic → an HTTP webhook, each alert at least once. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { webhook: { type: 'string' }, format: { type: 'string' }, group: { type: 'string' } },
  });
  const config = loadNotifyConfig({ 'notify.webhookUrl': values.webhook, 'notify.format': values.format, 'notify.groupId': values.group });
  const n = config.notify;
  const service = await startService('notify', config.metrics.port);
  const { logger, lifecycle } = service;
  const metrics = notifyMetrics(service.metrics);

  const codec = new AvroCodec<Alert>(createRegistry(config.registry.url), alertSchemaText);
  const kafka = createKafka(config.kafka, logger, 'notify');
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: n.groupId, allowAutoTopicCreation: false, ...consumerTimings(config.kafka) });
  await waitFor('Kafka', () => Promise.all([admin.connect(), producer.connect()]), logger);
  lifecycle.onShutdown('kafka admin', () => admin.disconnect());
  lifecycle.onShutdown('dead-letter producer', () => producer.disconnect());
  await consumer.connect();
  // Runs first on shutdown: the alert in hand finishes (or is given up uncommitted) and the group is left.
  lifecycle.onShutdown('consumer', () => consumer.disconnect());

  followConsumerGroup(consumer, service, (e) => logger.info({ assignment: e.payload.memberAssignment }, 'joined group'));

  await consumer.subscribe({ topics: [config.kafka.alertsTopic], fromBeginning: n.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Partitions are independent: one receiver's slow answer for a device does not hold up the others'.
    partitionsConsumedConcurrently: 4,
    eachBatch: createNotifier(
      { consumer, codec, dlq: new AcknowledgedSender(producer, admin), post: postAlert },
      { ...n, format: n.format as WebhookFormat },
      metrics,
      logger,
    ),
  });
  logger.info(
    { topic: config.kafka.alertsTopic, group: n.groupId, format: n.format, deadLetterTopic: n.deadLetterTopic },
    'notifier running',
  );
}
