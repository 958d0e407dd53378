import mqtt, { MqttClient } from 'mqtt';
import { uniqueName } from './kafka';
import { waitUntil } from './wait';

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

/**
 * Publishes numbered payloads at QoS 1 with up to `window` awaiting their PUBACK, and remembers
 * which ones the broker acknowledged. MQTT.js keeps an unacknowledged publish in its store across
 * a broker's death and sends it again after reconnecting, as a device does.
 */
export class CountingPublisher {
  readonly acked = new Set<number>();
  failed = 0;
  private next = 0;
  private inFlight = 0;
  private room?: () => void;

  constructor(
    private readonly client: MqttClient,
    private readonly topic: string,
    private readonly payload: (i: number) => string,
    private readonly window: number,
  ) {}

  /** Publishes so far (numbered 0 to sent - 1). */
  get sent(): number {
    return this.next;
  }

  /** Publishes until `until` says stop, at most `perSecond` a second (0: as fast as the window allows). */
  async run(until: () => boolean, perSecond = 0): Promise<void> {
    const begun = Date.now();
    const first = this.next;
    while (!until()) {
      if (this.inFlight >= this.window) await new Promise<void>((r) => (this.room = r));
      if (perSecond > 0) {
        const due = begun + ((this.next - first) * 1000) / perSecond;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const i = this.next++;
      this.inFlight++;
      this.client.publish(this.topic, this.payload(i), { qos: 1 }, (err) => {
        this.inFlight--;
        if (err) this.failed++;
        else this.acked.add(i);
        this.room?.();
        this.room = undefined;
      });
    }
  }

  /** Until every publish has its PUBACK. */
  drain(timeoutMs = 120000): Promise<true> {
    return waitUntil('every publish acknowledged', () => this.inFlight === 0, timeoutMs);
  }
}
