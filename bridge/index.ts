import { hostname } from 'node:os';
import { Partitioners } from 'kafkajs';
import { parseArgs } from 'node:util';
import { AvroCodec, createRegistry } from '../lib/avro';
import { loadConfig } from '../lib/config';
import { dlqMessage, type Rejection } from '../lib/dlq';
import { AcknowledgedSender } from '../lib/acknowledged-send';
import { createKafka } from '../lib/kafka';
import { mqttTlsOptions } from '../lib/mqtt-tls';
import { startService, waitFor } from '../lib/service';
import { subjectOf } from '../lib/topics';
import { Reading, telemetrySchemaText } from '../schemas';
import { bridgeSchema, checkBridgeLimits, subscriptionsOf } from './config';
import { bridgeMetrics } from './metrics';
import { MqttSession } from './mqtt-session';
import { elementRejection, settleAll } from './batch';
import { KeyCache } from './keys';
import { arrayElements, DEFAULT_READING_RULES, parsePayload, ParseResult, ReadingRules } from './reading';
import { BatchSender } from './sender';

/**
 * `iot-pipeline bridge`: MQTT → validate → Avro → Kafka. A message's PUBACK goes out only
 * after Kafka (acks=all) has its record — the reading, or the raw payload on the
 * dead-letter topic — so a bridge killed at any moment loses nothing: the broker
 * redelivers what was not acknowledged to the same client id.
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { 'client-id': { type: 'string' } } });
  const config = loadConfig(bridgeSchema, { 'mqtt.clientId': values['client-id'] });
  checkBridgeLimits(config.bridge);
  const mqttTls = mqttTlsOptions(config.mqtt);
  const service = await startService('bridge', config.metrics.port);
  const { logger, lifecycle } = service;
  const metrics = bridgeMetrics(service.metrics);
  const rules: ReadingRules = {
    ...DEFAULT_READING_RULES,
    defaultTopic: config.mqtt.topic,
    deviceTopicPrefix: config.mqtt.deviceTopicPrefix,
    maxPayloadBytes: config.bridge.maxPayloadBytes,
    maxBatchPayloadBytes: config.bridge.maxBatchPayloadBytes,
    maxBatchReadings: config.bridge.maxReadingsPerMessage,
    maxClockSkewMs: config.bridge.maxClockSkewSeconds * 1000,
  };

  const codec = new AvroCodec<Reading>(createRegistry(config.registry.url), telemetrySchemaText);
  await waitFor('schema registry', () => codec.register(subjectOf(config.kafka.telemetryTopic)), logger);

  const kafka = createKafka(config.kafka, logger, 'bridge');
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  await waitFor('Kafka', () => Promise.all([producer.connect(), admin.connect()]), logger);
  lifecycle.onShutdown('kafka admin', () => admin.disconnect());
  lifecycle.onShutdown('kafka producer', () => producer.disconnect());
  const acknowledged = new AcknowledgedSender(producer, admin);

  const sender = new BatchSender((topicMessages) => acknowledged.send(topicMessages), {
    maxBatch: config.bridge.maxBatch,
    maxBatchBytes: config.bridge.maxBatchBytes,
    maxInFlight: config.bridge.maxInFlightSends,
    onSent: (count, ms) => {
      metrics.produceSeconds.observe(ms / 1000);
      metrics.produceBatch.observe(count);
    },
  });
  lifecycle.onShutdown('kafka sends', () => sender.flush());

  const session = new MqttSession({
    host: config.mqtt.broker,
    port: config.mqtt.port,
    clientId: config.mqtt.clientId,
    protocolVersion: config.mqtt.protocolVersion as 4 | 5,
    subscriptions: subscriptionsOf(config.mqtt),
    receiveMaximum: config.mqtt.receiveMaximum,
    keepaliveSeconds: config.mqtt.keepaliveSeconds,
    sessionExpirySeconds: config.mqtt.sessionExpirySeconds,
    username: config.mqtt.username || undefined,
    password: config.mqtt.password || undefined,
    tls: mqttTls,
    logger: logger.child({ component: 'mqtt' }),
  });

  const keys = new KeyCache();
  const telemetryTopic = config.kafka.telemetryTopic;
  const dlqTopic = config.kafka.dlqTopic;
  /** A valid reading to the telemetry topic; `settle` hears when Kafka has it. */
  const produceReading = (result: ParseResult & { ok: true }, settle: (err?: Error) => void) =>
    sender.push({
      topic: telemetryTopic,
      message: { key: keys.of(result.reading.device_id), value: codec.encode(result.reading) },
      settle: (err) => {
        if (err) metrics.produceFailures.inc();
        else metrics.produced.inc();
        settle(err);
      },
    });
  const produceRejection = (rejection: Rejection, receivedAt: number, settle: (err?: Error) => void) =>
    sender.push({
      topic: dlqTopic,
      message: dlqMessage(rejection, receivedAt),
      settle: (err) => {
        if (err) metrics.produceFailures.inc();
        else metrics.rejected.inc({ reason: rejection.reason });
        settle(err);
      },
    });

  session.onMessage((msg, handedOff) => {
    metrics.received.inc();
    const done = (err?: Error) => {
      if (!err) metrics.handoffSeconds.observe((Date.now() - msg.receivedAt) / 1000);
      handedOff(err);
    };
    const parsed = parsePayload(msg.payload, msg.topic, msg.receivedAt, rules);
    if (!('batch' in parsed)) {
      if (parsed.ok) produceReading(parsed, done);
      else {
        // An oversized payload is dead-lettered cut to the limit (the detail gives its full size):
        // whole, it could exceed what Kafka takes in one record and fail on every redelivery.
        const value = parsed.reason === 'payload_too_large' ? msg.payload.subarray(0, rules.maxPayloadBytes) : msg.payload;
        produceRejection({ reason: parsed.reason, detail: parsed.detail, source: `mqtt:${msg.topic}`, value }, msg.receivedAt, done);
      }
      return;
    }
    // A gateway batch: one record per element, the PUBACK once all of them are in Kafka.
    const results = parsed.results;
    metrics.batchReadings.observe(results.length);
    const settle = settleAll(results.length, done);
    let elements: string[] | undefined; // the elements' own text, split only if one is rejected
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      if (result.ok) produceReading(result, settle);
      else {
        elements ??= arrayElements(parsed.text);
        produceRejection(elementRejection(result, i, elements[i], msg.topic, rules.maxPayloadBytes), msg.receivedAt, settle);
      }
    }
  });
  session.on('connected', () => (service.health.ready = true));
  session.on('disconnected', () => (service.health.ready = false));

  await waitFor('MQTT broker', () => session.start(), logger);
  // Runs first on shutdown: stop taking messages, wait for those in flight, send their PUBACKs.
  lifecycle.onShutdown('mqtt session', () => session.stop());
  logger.info(
    { clientId: config.mqtt.clientId, host: hostname(), subscriptions: subscriptionsOf(config.mqtt), topic: config.kafka.telemetryTopic },
    'bridge running',
  );
}
