import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { IClientOptions, MqttClient } from 'mqtt';
import { telemetrySchemaText } from '../schemas';
import { createTestTopics, readTopic, telemetryCodec } from '../testkit/kafka';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

/**
 * deploy/mosquitto/mosquitto-secure.conf and its acl, on a Mosquitto of the test's own (a free
 * loopback port, files in a temp folder), never the shared broker of the stack.
 */

const ROOT = join(__dirname, '..');
const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const USERS = { 'iot-bridge': 'bridge-pw', 'dev-a': 'a-pw', 'dev-b': 'b-pw' } as const;
const NOT_AUTHORIZED_V5 = 135;
const NOT_AUTHORIZED_V311 = 5;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Whether something accepts TCP connections on the port (the broker's log is block-buffered on a pipe). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('Mosquitto with passwords and per-device ACLs', () => {
  let dir: string;
  let port: number;
  let broker: ChildProcess;
  const brokerLog: string[] = [];
  const clients: MqttClient[] = [];

  /** Connects and resolves on CONNACK success; rejects with MQTT.js's error (its `code` is the CONNACK code). */
  function connect(options: IClientOptions): Promise<MqttClient> {
    const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 10000, ...options });
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
  }

  const as = (user: keyof typeof USERS, protocolVersion: 4 | 5 = 5) =>
    connect({ username: user, password: USERS[user], protocolVersion, clientId: `${user}-${clients.length}` });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mosquitto-secure-'));
    port = await freePort();
    const passwords = join(dir, 'passwd');
    for (const [user, password] of Object.entries(USERS)) {
      execFileSync('mosquitto_passwd', [...(user === 'iot-bridge' ? ['-c'] : []), '-b', passwords, user, password]);
    }
    const conf = readFileSync(join(ROOT, 'deploy/mosquitto/mosquitto-secure.conf'), 'utf8')
      .replace('@MQTT_USER@', userInfo().username) // root stays root: the temp files are its own
      .replace('@MQTT_PORT@', String(port))
      .replace('@MQTT_HOST@', '127.0.0.1')
      .replace('@PASSWORD_FILE@', passwords)
      .replace('@ACL_FILE@', join(ROOT, 'deploy/mosquitto/acl'));
    expect(conf).not.toMatch(/@[A-Z_]+@/);
    writeFileSync(join(dir, 'mosquitto.conf'), conf);
    broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [broker.stdout!, broker.stderr!]) stream.on('data', (chunk: Buffer) => brokerLog.push(chunk.toString()));
    await waitUntil('the test broker to listen', () => broker.exitCode !== null || accepts(port), 20000);
    if (broker.exitCode !== null) throw new Error(`mosquitto exited: ${brokerLog.join('')}`);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    if (broker && broker.exitCode === null) {
      const exited = new Promise((resolve) => broker.once('exit', resolve));
      broker.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['anonymous, MQTT 3.1.1', { protocolVersion: 4 as const }, NOT_AUTHORIZED_V311],
    ['anonymous, MQTT 5', { protocolVersion: 5 as const }, NOT_AUTHORIZED_V5],
    ['a wrong password, MQTT 3.1.1', { protocolVersion: 4 as const, username: 'dev-a', password: 'guess' }, NOT_AUTHORIZED_V311],
    ['an unknown user, MQTT 5', { protocolVersion: 5 as const, username: 'dev-z', password: 'x' }, NOT_AUTHORIZED_V5],
  ])('refuses %s at CONNACK', async (_name, options, code) => {
    await expect(connect(options)).rejects.toMatchObject({ code });
  });

  it('delivers a device’s reading on its own topic, and refuses it on another device’s', async () => {
    const bridge = await as('iot-bridge');
    const received: string[] = [];
    bridge.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    await bridge.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const a = await as('dev-a');

    // MQTT 5 says so in the PUBACK.
    await expect(a.publishAsync('devices/dev-b/telemetry', 'as b', { qos: 1 })).rejects.toMatchObject({ code: NOT_AUTHORIZED_V5 });
    await a.publishAsync('devices/dev-a/telemetry', 'as a', { qos: 1 });
    // MQTT 3.1.1 has no reason codes: the broker acknowledges and drops. The device's own
    // message sent after it arrives, so the refused one would have arrived first.
    const a311 = await as('dev-a', 4);
    await a311.publishAsync('devices/dev-b/telemetry', 'as b over 3.1.1', { qos: 1 });
    await a311.publishAsync('devices/dev-a/telemetry', 'as a over 3.1.1', { qos: 1 });

    await waitUntil('both own messages', () => received.length >= 2, 10000);
    expect(received).toEqual(['devices/dev-a/telemetry as a', 'devices/dev-a/telemetry as a over 3.1.1']);
  });

  it('lets a device neither publish on the shared topic nor read other devices', async () => {
    const bridge = await as('iot-bridge');
    const a = await as('dev-a');
    await expect(a.publishAsync('portfolio/telemetry', '{}', { qos: 1 })).rejects.toMatchObject({ code: NOT_AUTHORIZED_V5 });
    // Mosquitto grants the wildcard subscription and checks read access per message.
    const seenByBridge: string[] = [];
    const seenByA: string[] = [];
    bridge.on('message', (topic) => seenByBridge.push(topic));
    a.on('message', (topic) => seenByA.push(topic));
    await bridge.subscribeAsync('devices/+/telemetry', { qos: 1 });
    await a.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const b = await as('dev-b');
    await b.publishAsync('devices/dev-b/telemetry', 'b1', { qos: 1 });
    await b.publishAsync('devices/dev-b/telemetry', 'b2', { qos: 1 });
    // The broker sends a message to every matching subscriber in one pass: once the bridge
    // has the second, A would have had the first.
    await waitUntil('the bridge to get both', () => seenByBridge.length >= 2, 10000);
    expect(seenByA).toEqual([]);
  });

  it('drops at the broker a payload over message_size_limit, and passes one at the limit', async () => {
    // Mosquitto 2.0.11 answers an MQTT 5 publisher with PUBACK reason 149 ("packet too large"),
    // which MQTT 5 does not allow in a PUBACK (MQTT.js rejects the packet); a 3.1.1 publisher
    // gets an ordinary PUBACK. Either way the message goes nowhere.
    const bridge = await as('iot-bridge');
    const sizes: number[] = [];
    bridge.on('message', (_topic, payload) => sizes.push(payload.length));
    await bridge.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const a = await as('dev-a', 4);
    await a.publishAsync('devices/dev-a/telemetry', Buffer.alloc(65537, 0x20), { qos: 1 });
    await a.publishAsync('devices/dev-a/telemetry', Buffer.alloc(65536, 0x20), { qos: 1 });
    await waitUntil('the payload at the limit', () => sizes.length >= 1, 10000);
    expect(sizes).toEqual([65536]);
  });

  it('serves the real bridge, logged in with its password from a file, through a shared subscription', async () => {
    const topics = await createTestTopics('access');
    writeFileSync(join(dir, 'bridge-password'), `${USERS['iot-bridge']}\n`);
    const bridge = new ServiceProcess('bridge', [], {
      ...topics.env,
      MQTT_BROKER: '127.0.0.1',
      MQTT_PORT: String(port),
      MQTT_USERNAME: 'iot-bridge',
      MQTT_PASSWORD: '',
      MQTT_PASSWORD_FILE: join(dir, 'bridge-password'),
      BRIDGE_CLIENT_ID: `bridge-${topics.telemetry}`,
    });
    try {
      await bridge.waitForLog(/bridge running/);
      const a = await as('dev-a');
      const timestamp = Math.floor(Date.now() / 1000) - 5;
      await a.publishAsync('devices/dev-a/telemetry', JSON.stringify({ battery: 42, timestamp }), { qos: 1 });
      const codec = await telemetryCodec(topics.telemetry, telemetrySchemaText);
      const [record] = await readTopic(topics.telemetry, 1);
      expect(codec.decode(record.value)).toMatchObject({ device_id: 'dev-a', battery: 42, time: timestamp * 1e6 });
      expect(bridge.output.join('\n')).not.toContain(USERS['iot-bridge']);
    } finally {
      await bridge.kill('SIGTERM');
    }
  });
});
