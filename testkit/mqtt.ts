import mqtt, { MqttClient } from 'mqtt';
import { uniqueName } from './kafka';

export function connectPublisher(): Promise<MqttClient> {
  const client = mqtt.connect({
    host: process.env.MQTT_BROKER,
    port: Number(process.env.MQTT_PORT),
    clientId: uniqueName('pub'),
    protocolVersion: 4,
    reconnectPeriod: 200,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/**
 * Topics of one test's bridge, under a unique prefix so parallel tests never share messages.
 * The bridge subscribes without sharing (the default); `shareGroup` is the group for a test
 * that runs several bridges (set BRIDGE_SHARE_GROUP to it).
 */
export function testMqttTopics(): { shared: string; device: (id: string) => string; shareGroup: string; env: Record<string, string> } {
  const prefix = uniqueName('t');
  return {
    shared: `${prefix}/portfolio/telemetry`,
    device: (id) => `${prefix}/devices/${id}/telemetry`,
    shareGroup: prefix,
    env: {
      MQTT_TOPIC: `${prefix}/portfolio/telemetry`,
      MQTT_DEVICE_TOPIC_PREFIX: `${prefix}/devices/`,
      BRIDGE_CLIENT_ID: `${prefix}-bridge`,
    },
  };
}

/** Publishes at QoS 1 and resolves once the broker has acknowledged (PUBACK) the message. */
export function publishQos1(client: MqttClient, topic: string, payload: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
}
