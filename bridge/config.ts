import { ConfigOf, kafkaSchema, metricsSchema, mqttSchema, registrySchema } from '../lib/config';
import { ConfigError } from '../lib/errors';

export const bridgeSchema = {
  mqtt: {
    ...mqttSchema,
    topic: {
      doc: 'Shared topic where the payload names the device',
      format: String,
      default: 'portfolio/telemetry',
      env: 'MQTT_TOPIC',
    },
    deviceTopicPrefix: {
      doc: 'Per-device topics are <prefix><device_id>/telemetry; the id in the topic is the identity',
      format: String,
      default: 'devices/',
      env: 'MQTT_DEVICE_TOPIC_PREFIX',
    },
    clientId: {
      doc: 'MQTT client id; keep it stable per bridge instance: the broker keeps unacknowledged messages under it',
      format: String,
      default: 'iot-bridge-1',
      env: 'BRIDGE_CLIENT_ID',
    },
    shareGroup: {
      doc: 'Shared-subscription group, to split the stream over several bridges; "" (one bridge) subscribes without sharing, which survives a Mosquitto restart (bridge/README.md)',
      format: String,
      default: '',
      env: 'BRIDGE_SHARE_GROUP',
    },
    protocolVersion: {
      doc: "MQTT protocol of the bridge's own connection: 4 (3.1.1) or 5",
      format: [4, 5],
      default: 5,
      env: 'MQTT_PROTOCOL_VERSION',
    },
    receiveMaximum: {
      doc: "QoS 1 messages in flight (unacknowledged) on the connection; bounds the bridge's memory",
      format: 'positive-int',
      default: 2000,
      env: 'BRIDGE_RECEIVE_MAXIMUM',
    },
    keepaliveSeconds: { doc: 'MQTT keep-alive', format: 'positive-int', default: 30, env: 'MQTT_KEEPALIVE' },
    sessionExpirySeconds: {
      doc: 'MQTT 5: how long the broker keeps the session of a stopped bridge',
      format: 'positive-int',
      default: 86400,
      env: 'BRIDGE_SESSION_EXPIRY',
    },
  },
  kafka: kafkaSchema,
  registry: registrySchema,
  metrics: metricsSchema,
  bridge: {
    maxBatch: { doc: 'Most records in one produce request', format: 'positive-int', default: 5000, env: 'BRIDGE_MAX_BATCH' },
    maxBatchBytes: {
      doc: "Most bytes (keys, values, headers) in one produce request; keep it under the topics' max.message.bytes (Kafka default 1048588)",
      format: 'positive-int',
      default: 1000000,
      env: 'BRIDGE_MAX_BATCH_BYTES',
    },
    maxInFlightSends: {
      doc: "Produce requests in flight at once (1 keeps each device's readings in order across retries)",
      format: 'positive-int',
      default: 1,
      env: 'BRIDGE_MAX_IN_FLIGHT_SENDS',
    },
    maxPayloadBytes: {
      doc: 'Larger payloads are dead-lettered unread',
      format: 'positive-int',
      default: 16384,
      env: 'BRIDGE_MAX_PAYLOAD_BYTES',
    },
    maxBatchPayloadBytes: {
      doc: 'Larger gateway batches (a payload that is a JSON array of readings) are dead-lettered unread, cut to BRIDGE_MAX_PAYLOAD_BYTES',
      format: 'positive-int',
      default: 262144,
      env: 'BRIDGE_MAX_BATCH_PAYLOAD_BYTES',
    },
    maxReadingsPerMessage: {
      doc: 'Most readings in one gateway batch; a batch with more is dead-lettered whole (too_many_readings)',
      format: 'positive-int',
      default: 1000,
      env: 'BRIDGE_MAX_READINGS_PER_MESSAGE',
    },
    maxClockSkewSeconds: {
      doc: "How far ahead of the bridge clock a reading's timestamp may be",
      format: 'positive-int',
      default: 300,
      env: 'BRIDGE_MAX_CLOCK_SKEW_SECONDS',
    },
  },
};

export type BridgeConfig = ConfigOf<typeof bridgeSchema>;

/** The subscriptions of one bridge: both topic forms, shared when a group is set. */
export function subscriptionsOf(config: BridgeConfig['mqtt']): string[] {
  const filters = [config.topic, `${config.deviceTopicPrefix}+/telemetry`];
  return config.shareGroup ? filters.map((f) => `$share/${config.shareGroup}/${f}`) : filters;
}

/** Room a dead-lettered record needs beside its payload: DLQ headers (detail up to ~300 bytes), source topic, framing. */
export const DLQ_RECORD_OVERHEAD_BYTES = 1024;

/**
 * Limits that are each valid but do not fit together: a rejected payload of the largest size
 * the bridge accepts must fit in one produce request, or it would fail on every redelivery.
 */
export function checkBridgeLimits(config: BridgeConfig['bridge']): void {
  if (config.maxPayloadBytes + DLQ_RECORD_OVERHEAD_BYTES > config.maxBatchBytes) {
    throw new ConfigError([
      {
        key: 'BRIDGE_MAX_PAYLOAD_BYTES (bridge.maxPayloadBytes)',
        message: `${config.maxPayloadBytes} plus ${DLQ_RECORD_OVERHEAD_BYTES} bytes of DLQ headers exceeds BRIDGE_MAX_BATCH_BYTES (${config.maxBatchBytes}): a rejected payload would not fit in a produce request`,
      },
    ]);
  }
}
