import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { MqttClient } from 'mqtt';
import { createTestTopics, TestTopics } from '../../testkit/kafka';
import { connectPublisher, CountingPublisher, testMqttTopics } from '../../testkit/mqtt';
import { ServiceProcess } from '../../testkit/service-process';
import { waitUntil } from '../../testkit/wait';

/**
 * A queue that grows stays cheap, and a stale session does not stay for ever. The bridge makes
 * its persistent session and stops; a publisher then publishes as fast as its window allows for
 * QUEUE_GROWTH_SECONDS (default 60), every message queued for the stopped session. 2.0's
 * snapshots rewrote the whole queue every 2 s, so their cost grew with it (93 % CPU with 0.8 GB
 * queued); 2.1's SQLite plugin writes each change once. Measured from the broker's own
 * /proc/<pid>/stat: its acknowledgement rate and CPU per message, first third against last third.
 * Then the ways a session ends: deleted by the operator's command for a retired bridge
 * (bridge/README.md), or expired by the broker after the bridge's BRIDGE_SESSION_EXPIRY.
 */
const SECONDS = Number(process.env.QUEUE_GROWTH_SECONDS ?? 60);
const WINDOW = 100;
const STACK_DIR = process.env.STACK_DIR ?? join(__dirname, '..', '..', '.stack');
const run = promisify(execFile);

/** The broker's pid, and its CPU time so far in seconds (user + system, /proc/<pid>/stat). */
function brokerPid(): number {
  return Number(readFileSync(join(STACK_DIR, 'run', 'mosquitto.pid'), 'utf8').trim());
}
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}
function persistenceMiB(): number {
  const dir = join(STACK_DIR, 'data', 'mosquitto');
  return ['mosquitto.sqlite3', 'mosquitto.sqlite3-wal'].reduce((n, f) => {
    try {
      return n + statSync(join(dir, f)).size / 2 ** 20;
    } catch {
      return n;
    }
  }, 0);
}

/**
 * Whether the broker still holds a session for `clientId`: an MQTT 5 CONNECT with clean start
 * false, then a DISCONNECT; `keepSeconds` is the expiry the session gets from then on (0: it
 * ends with this connection). One queued message may be delivered and acknowledged meanwhile
 * (receive maximum 1), so ask only of sessions whose queue no longer matters.
 */
async function sessionPresent(clientId: string, keepSeconds: number): Promise<boolean> {
  const client = mqtt.connect({
    host: process.env.MQTT_BROKER,
    port: Number(process.env.MQTT_PORT),
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: keepSeconds, receiveMaximum: 1 },
    reconnectPeriod: 0,
  });
  const present = await new Promise<boolean>((resolve, reject) => {
    client.once('connect', (connack) => resolve(connack.sessionPresent));
    client.once('error', reject);
  });
  await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  return present;
}

interface Sample {
  atMs: number;
  acked: number;
  cpu: number;
}

describe('queue growth with the bridge stopped', () => {
  let topics: TestTopics;
  const running: ServiceProcess[] = [];
  const publishers: MqttClient[] = [];

  beforeAll(async () => {
    topics = await createTestTopics('queue-growth');
  });

  afterAll(async () => {
    await Promise.all(running.map((p) => p.kill('SIGTERM')));
    await Promise.all(publishers.map((p) => new Promise<void>((resolve) => p.end(true, {}, () => resolve()))));
  });

  /** A bridge that makes its session and subscription, then stops cleanly (its session stays). */
  const leaveBridgeSession = async (env: Record<string, string>) => {
    const bridge = new ServiceProcess('bridge', [], { ...topics.env, ...env });
    running.push(bridge);
    await bridge.waitForLog(/bridge running/);
    await bridge.kill('SIGTERM');
  };

  it(
    `keeps the publish rate and CPU per message flat over ${SECONDS} s of queueing, and deletes the retired session on command`,
    async () => {
      const mqttTopics = testMqttTopics();
      const clientId = mqttTopics.env.BRIDGE_CLIENT_ID;
      await leaveBridgeSession(mqttTopics.env);

      const client = await connectPublisher();
      publishers.push(client);
      const t0 = Date.now();
      const payload = (i: number) =>
        JSON.stringify({ device_id: `q-${i % 100}`, temperature: 21.5, humidity: 48.25, battery: 87, timestamp: t0 + i });
      const publisher = new CountingPublisher(client, mqttTopics.shared, payload, WINDOW);
      const pid = brokerPid();
      const before = { cpu: cpuSeconds(pid), rss: rssMiB(pid), disk: persistenceMiB() };

      const samples: Sample[] = [];
      const take = () => samples.push({ atMs: Date.now() - t0, acked: publisher.acked.size, cpu: cpuSeconds(pid) });
      take();
      const sampler = setInterval(take, 1000);
      await publisher.run(() => Date.now() - t0 >= SECONDS * 1000);
      clearInterval(sampler);
      take();
      await publisher.drain();
      const queued = publisher.acked.size;

      // first third against last third of the run
      const at = (ms: number) => samples.reduce((best, s) => (Math.abs(s.atMs - ms) < Math.abs(best.atMs - ms) ? s : best));
      const span = samples[samples.length - 1].atMs;
      const third = (from: Sample, to: Sample) => {
        const messages = to.acked - from.acked;
        return {
          perSecond: Math.round((messages * 1000) / (to.atMs - from.atMs)),
          cpuMicrosPerMessage: Number((((to.cpu - from.cpu) * 1e6) / messages).toFixed(1)),
          brokerCpuShare: Number(((to.cpu - from.cpu) / ((to.atMs - from.atMs) / 1000)).toFixed(2)),
        };
      };
      const first = third(at(0), at(span / 3));
      const last = third(at((2 * span) / 3), at(span));
      const figures = {
        seconds: SECONDS,
        window: WINDOW,
        queued,
        payloadBytes: payload(0).length,
        firstThird: first,
        lastThird: last,
        brokerRssMiB: { before: Math.round(before.rss), after: Math.round(rssMiB(pid)) },
        persistenceMiB: { before: Math.round(before.disk), after: Math.round(persistenceMiB()) },
      };
      process.stdout.write(`\nqueue growth figures:\n${JSON.stringify(figures, null, 2)}\n`);

      expect(publisher.failed).toBe(0);
      expect(queued).toBe(publisher.sent);
      // Mosquitto would drop beyond max_queued_messages (1,000,000): the run must stay below it to mean anything
      expect(queued).toBeLessThan(1_000_000);
      // Generous bounds for a shared 2-core machine: 2.0's snapshot cost grew with the queue, far past these.
      expect(last.perSecond).toBeGreaterThan(first.perSecond * 0.5);
      expect(last.cpuMicrosPerMessage).toBeLessThan(first.cpuMicrosPerMessage * 2);

      // The operator's command for a retired bridge (bridge/README.md, "Operating notes"): clean
      // start under its client id deletes the session and everything queued for it.
      expect(await sessionPresent(clientId, 86400)).toBe(true);
      await run('mosquitto_sub', [
        '-h',
        process.env.MQTT_BROKER!,
        '-p',
        process.env.MQTT_PORT!,
        '-V',
        'mqttv5',
        '-i',
        clientId,
        '-t',
        'retire/none',
        '-E',
      ]);
      expect(await sessionPresent(clientId, 0)).toBe(false);
    },
    SECONDS * 1000 + 180000,
  );

  it("expires a stopped bridge's session after its BRIDGE_SESSION_EXPIRY, queue and all", async () => {
    const mqttTopics = testMqttTopics();
    const clientId = mqttTopics.env.BRIDGE_CLIENT_ID;
    await leaveBridgeSession({ ...mqttTopics.env, BRIDGE_SESSION_EXPIRY: '3' });
    const client = await connectPublisher();
    publishers.push(client);
    const publisher = new CountingPublisher(
      client,
      mqttTopics.shared,
      (i) => JSON.stringify({ device_id: 'q-expiry', temperature: 20, timestamp: Date.now() + i }),
      WINDOW,
    );
    await publisher.run(() => publisher.sent >= 100);
    await publisher.drain();

    // The broker says when it expires a session (log_type notice); then it is gone.
    const log = join(STACK_DIR, 'logs', 'mosquitto.log');
    await waitUntil(
      `"Expiring client ${clientId}" in the broker log`,
      () => readFileSync(log, 'utf8').includes(`Expiring client ${clientId} due to timeout`),
      30000,
      250,
    );
    expect(await sessionPresent(clientId, 0)).toBe(false);
  }, 60000);
});
