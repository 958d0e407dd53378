import { MqttClient } from 'mqtt';
import { Admin as KafkaAdmin } from 'kafkajs';
import { createTestTopics, recordCount, testKafka, TestTopics } from '../../testkit/kafka';
import { connectPublisher, publishQos1, testMqttTopics } from '../../testkit/mqtt';
import { nativeService } from '../../testkit/native-service';
import { ServiceProcess } from '../../testkit/service-process';
import { waitUntil } from '../../testkit/wait';

/**
 * Mosquitto restarted while the bridge is away. The bridge's session (clean session false)
 * must survive the restart with its subscription: a reading a device publishes after the
 * restart and before the bridge is back is acknowledged to the device, so it must be queued
 * for the bridge, not delivered to no one. Mosquitto 2.0 saved a session's plain subscriptions
 * but not its shared ones ($share/...): with two bridges in a share group this test found 51
 * of the 101 readings delivered there. 2.1's persistence plugin keeps shared subscriptions too,
 * so bridges in a share group are as lossless as one bridge (bridge/README.md, "Scaling out").
 */
describe('mosquitto restart', () => {
  let topics: TestTopics;
  let admin: KafkaAdmin;
  const running: ServiceProcess[] = [];
  const publishers: MqttClient[] = [];

  beforeAll(async () => {
    topics = await createTestTopics('mqtt-restart');
    admin = testKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    await nativeService('mosquitto', 'start');
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await Promise.all(publishers.map((p) => new Promise<void>((resolve) => p.end(true, {}, () => resolve()))));
    await admin.disconnect();
  });

  const recordsOnKafka = () => recordCount(admin, topics.telemetry);
  const publish = async (topic: string, from: number, count: number) => {
    const publisher = await connectPublisher();
    publishers.push(publisher);
    const t0 = Date.now() / 1000;
    await Promise.all(
      Array.from({ length: count }, (_, k) =>
        publishQos1(
          publisher,
          topic,
          JSON.stringify({
            device_id: `dev-${(from + k) % 10}`,
            temperature: 20,
            humidity: 50,
            battery: 80,
            timestamp: t0 + (from + k) / 1000,
          }),
        ),
      ),
    );
  };

  it.each([
    { setting: 'one bridge, plain subscriptions', bridges: 1, shared: false },
    { setting: 'two bridges in a share group', bridges: 2, shared: true },
  ])(
    'keeps the bridge sessions and their subscriptions ($setting): readings published while all were away arrive',
    async ({ bridges, shared }) => {
      const mqttTopics = testMqttTopics();
      const startBridges = async () => {
        const started = Array.from({ length: bridges }, (_, i) => {
          const env: Record<string, string> = { ...topics.env, ...mqttTopics.env };
          if (shared)
            Object.assign(env, { BRIDGE_SHARE_GROUP: mqttTopics.shareGroup, BRIDGE_CLIENT_ID: `${mqttTopics.env.BRIDGE_CLIENT_ID}-${i}` });
          return new ServiceProcess('bridge', [], env);
        });
        running.push(...started);
        await Promise.all(started.map((b) => b.waitForLog(/bridge running/)));
        return started;
      };
      const first = await startBridges();
      const before = await recordsOnKafka();
      await publish(mqttTopics.shared, 0, 1);
      await waitUntil('the first reading on Kafka', async () => (await recordsOnKafka()) === before + 1);

      // The bridges stop cleanly: their sessions stay, with their subscriptions.
      await Promise.all(first.map((b) => b.kill('SIGTERM')));
      await publish(mqttTopics.shared, 1, 50); // queued for the sessions before the restart
      await nativeService('mosquitto', 'restart');
      await publish(mqttTopics.shared, 51, 50); // acknowledged after the restart, no bridge connected

      const back = await startBridges();
      let onKafka = 0;
      await waitUntil('all 101 readings on Kafka', async () => (onKafka = (await recordsOnKafka()) - before) >= 101, 60000, 200).catch(
        () => {
          throw new Error(`${onKafka} of the 101 readings acknowledged to devices reached Kafka within 60 s of the bridges' return`);
        },
      );
      expect((await recordsOnKafka()) - before).toBe(101);
      if (shared) {
        // each bridge took a real part: the group dealt the stream, no single member did it all
        const received = await Promise.all(back.map((b) => b.metricValue('iot_bridge_messages_received_total')));
        expect(received.every((n) => n > 0)).toBe(true);
      }
    },
    180000,
  );
});
