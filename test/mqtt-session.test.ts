/**
 * MqttSession against a real Mosquitto (MQTT_BROKER / MQTT_PORT). Each test has its own
 * topic and client ids, and removes the persistent sessions it created, so tests can share
 * a broker. Waits are awaited conditions, never fixed sleeps.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { MqttSession, type Done, type InboundMessage, type MqttSessionOptions } from '../bridge/mqtt-session';
import { createLogger } from '../lib/log';

const HOST = process.env.MQTT_BROKER ?? 'localhost';
const PORT = Number(process.env.MQTT_PORT ?? 1883);
const logger = createLogger('mqtt-session-test', process.env.LOG_LEVEL ?? 'error');

const sessions: MqttSession[] = [];
const clientIds = new Set<string>();
let publisher: MqttClient;

beforeAll(async () => {
  publisher = await mqtt.connectAsync({
    host: HOST,
    port: PORT,
    clientId: `test-pub-${randomUUID()}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
});

afterAll(async () => {
  await publisher?.endAsync();
});

afterEach(async () => {
  for (const s of sessions.splice(0)) s.abort();
  // Remove the persistent sessions from the broker: a clean connect discards them.
  for (const clientId of clientIds) {
    const c = await mqtt.connectAsync({ host: HOST, port: PORT, clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
    await c.endAsync();
  }
  clientIds.clear();
});

function uniqueTopic(): string {
  return `test/${randomUUID()}/telemetry`;
}

function session(
  options: Partial<MqttSessionOptions> & Pick<MqttSessionOptions, 'clientId' | 'protocolVersion' | 'subscriptions'>,
): MqttSession {
  clientIds.add(options.clientId);
  const s = new MqttSession({
    host: HOST,
    port: PORT,
    receiveMaximum: 100,
    keepaliveSeconds: 30,
    logger,
    reconnectMinMs: 20,
    drainTimeoutMs: 10_000,
    sessionExpirySeconds: 600,
    ...options,
  });
  sessions.push(s);
  return s;
}

async function publishNumbered(topic: string, count: number, from = 0): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => publisher.publishAsync(topic, String(from + i), { qos: 1 })));
}

/** Resolves once `condition` holds (checked every few ms), or fails naming what it waited for. */
async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * What a fresh connection under `clientId` receives before a sentinel published after it
 * connects: Mosquitto resends unacknowledged messages first, so an empty list proves that
 * everything earlier was acknowledged.
 */
async function leftoversFor(clientId: string, protocolVersion: 4 | 5, topic: string): Promise<string[]> {
  const seen: string[] = [];
  const s = session({ clientId, protocolVersion, subscriptions: [topic] });
  s.onMessage((m, done) => {
    seen.push(m.payload.toString());
    done();
  });
  await s.start();
  await publisher.publishAsync(topic, 'sentinel', { qos: 1 });
  await until(() => seen.includes('sentinel'), 'the sentinel');
  await s.stop();
  return seen.filter((p) => p !== 'sentinel');
}

describe.each([4, 5] as const)('MqttSession, MQTT protocol version %d', (protocolVersion) => {
  it('pipelines: many hand-offs at once, PUBACKs in arrival order and only after confirmation', async () => {
    const topic = uniqueTopic();
    const clientId = `bridge-${randomUUID()}`;
    const s = session({ clientId, protocolVersion, subscriptions: [topic] });
    const arrivals: { packetId: number; body: string; confirmed: boolean }[] = [];
    let pending = 0;
    let maxPending = 0;
    let ackCursor = 0;
    const ackProblems: string[] = [];
    s.on('acked', (ids) => {
      for (const id of ids) {
        const a = arrivals[ackCursor++];
        if (a?.packetId !== id) ackProblems.push(`PUBACK ${id} out of arrival order (expected ${a?.packetId})`);
        else if (!a.confirmed) ackProblems.push(`PUBACK ${id} before its message was confirmed`);
      }
    });
    s.onMessage((m, done) => {
      const arrival = { packetId: m.packetId as number, body: m.payload.toString(), confirmed: false };
      arrivals.push(arrival);
      maxPending = Math.max(maxPending, ++pending);
      // Confirm after 100 ms plus jitter, so confirmations come back out of order.
      setTimeout(
        () => {
          pending--;
          arrival.confirmed = true;
          done();
        },
        100 + Math.random() * 50,
      );
    });
    await s.start();

    await publishNumbered(topic, 200);
    await until(() => ackCursor === 200, '200 PUBACKs');

    expect(ackProblems).toEqual([]);
    expect(maxPending).toBeGreaterThan(1);
    expect(new Set(arrivals.map((a) => a.body))).toEqual(new Set(Array.from({ length: 200 }, (_, i) => String(i))));
    expect(s.stats()).toMatchObject({ received: 200, acked: 200, inFlight: 0, unacknowledged: 0, reconnects: 0 });

    await s.stop();
    expect(await leftoversFor(clientId, protocolVersion, topic)).toEqual([]);
  });

  it('a failed hand-off: reconnects, and that message and the later ones come again; nothing is lost', async () => {
    const topic = uniqueTopic();
    const clientId = `bridge-${randomUUID()}`;
    const s = session({ clientId, protocolVersion, subscriptions: [topic] });
    const failAt = '50';
    let failed = false;
    const deliveries = new Map<string, { dup: boolean }[]>();
    const confirmed = new Set<string>();
    const disconnects: string[] = [];
    s.on('disconnected', ({ reason }) => disconnects.push(reason));
    s.onMessage((m, done) => {
      const body = m.payload.toString();
      deliveries.set(body, [...(deliveries.get(body) ?? []), { dup: m.dup }]);
      setTimeout(
        () => {
          if (body === failAt && !failed) {
            failed = true;
            done(new Error('kafka unavailable'));
          } else {
            confirmed.add(body);
            done();
          }
        },
        10 + Math.random() * 20,
      );
    });
    await s.start();

    await publishNumbered(topic, 200);
    await until(() => confirmed.size === 200, 'every message confirmed');
    await until(() => s.stats().inFlight === 0 && s.stats().unacknowledged === 0, 'the last PUBACKs');

    expect(s.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(s.stats().handlerFailures).toBe(1);
    // It reconnected as soon as the messages before the failure were acknowledged, not on a timeout.
    expect(disconnects[0]).toBe('hand-off failed: kafka unavailable');
    const redelivered = deliveries.get(failAt) ?? [];
    expect(redelivered.length).toBeGreaterThanOrEqual(2);
    expect(redelivered[1].dup).toBe(true);
    // Everything before the failure was confirmed, acknowledged and so never sent again.
    for (let i = 0; i < Number(failAt); i++) expect(deliveries.get(String(i))).toHaveLength(1);

    await s.stop();
    expect(await leftoversFor(clientId, protocolVersion, topic)).toEqual([]);
  });

  it('a killed connection: a new session with the same client id gets every unacknowledged message again', async () => {
    const topic = uniqueTopic();
    const clientId = `bridge-${randomUUID()}`;
    const first = session({ clientId, protocolVersion, subscriptions: [topic] });
    const held: { body: string; done: Done }[] = [];
    first.onMessage((m, done) => held.push({ body: m.payload.toString(), done }));
    await first.start();

    await publishNumbered(topic, 20);
    await until(() => held.length === 20, '20 hand-offs');
    // Confirm the first five only, out of order, and see exactly those acknowledged.
    for (const i of [3, 1, 4, 0, 2]) held[i].done();
    await until(() => first.stats().acked === 5, 'five PUBACKs');
    const acknowledged = held.slice(0, 5).map((h) => h.body);

    first.abort(); // as if the process died: no DISCONNECT, no more PUBACKs
    for (const h of held.slice(5)) h.done(); // late confirmations must go nowhere
    expect(first.stats().acked).toBe(5);
    await until(() => !first.stats().connected, 'the broker to close the aborted connection');

    const second = session({ clientId, protocolVersion, subscriptions: [topic] });
    const again: InboundMessage[] = [];
    second.onMessage((m, done) => {
      again.push(m);
      done();
    });
    await second.start();
    await until(() => again.length >= 15, 'the 15 unacknowledged messages');
    await publisher.publishAsync(topic, 'sentinel', { qos: 1 });
    await until(() => again.some((m) => m.payload.toString() === 'sentinel'), 'the sentinel');

    const bodies = again.map((m) => m.payload.toString()).filter((b) => b !== 'sentinel');
    expect(new Set(bodies)).toEqual(new Set(held.slice(5).map((h) => h.body)));
    expect(bodies.some((b) => acknowledged.includes(b))).toBe(false);
    expect(again.filter((m) => m.payload.toString() !== 'sentinel').every((m) => m.dup)).toBe(true);
    await second.stop();
  });

  it('stop() waits for in-flight confirmations and acknowledges them before disconnecting', async () => {
    const topic = uniqueTopic();
    const clientId = `bridge-${randomUUID()}`;
    const s = session({ clientId, protocolVersion, subscriptions: [topic] });
    let received = 0;
    s.onMessage((_m, done) => {
      received++;
      setTimeout(() => done(), 200);
    });
    await s.start();
    await publishNumbered(topic, 50);
    await until(() => received === 50, '50 hand-offs');

    await s.stop();
    expect(s.stats()).toMatchObject({ acked: 50, inFlight: 0, connected: false });
    expect(await leftoversFor(clientId, protocolVersion, topic)).toEqual([]);
  });

  it('bounds the work in flight by pausing the socket', async () => {
    const topic = uniqueTopic();
    const s = session({
      clientId: `bridge-${randomUUID()}`,
      protocolVersion,
      subscriptions: [topic],
      receiveMaximum: 500,
      maxInFlight: 10,
    });
    let pending = 0;
    let maxPending = 0;
    const seen = new Set<string>();
    s.onMessage((m, done) => {
      seen.add(m.payload.toString());
      maxPending = Math.max(maxPending, ++pending);
      setTimeout(() => {
        pending--;
        done();
      }, 5);
    });
    await s.start();
    await publishNumbered(topic, 300);
    await until(() => seen.size === 300 && s.stats().acked === 300, '300 messages acknowledged');
    expect(maxPending).toBeLessThanOrEqual(10);
    expect(maxPending).toBeGreaterThan(1);
    await s.stop();
  });

  it('keeps the connection through a hand-off slower than the keepalive while the socket is paused', async () => {
    const topic = uniqueTopic();
    const s = session({
      clientId: `bridge-${randomUUID()}`,
      protocolVersion,
      subscriptions: [topic],
      keepaliveSeconds: 1,
      receiveMaximum: 5,
      maxInFlight: 1,
    });
    let first = true;
    s.onMessage((_m, done) => {
      // The first hand-off takes three keepalive periods; the socket stays paused meanwhile.
      if (first) {
        first = false;
        setTimeout(() => done(), 3000);
      } else done();
    });
    await s.start();
    await publishNumbered(topic, 5);
    await until(() => s.stats().acked === 5, '5 PUBACKs');
    expect(s.stats().reconnects).toBe(0);
    await s.stop();
  });

  it('shared subscription: two sessions in one group split the messages and together get all', async () => {
    const topic = uniqueTopic();
    const filter = `$share/g${randomUUID().slice(0, 8)}/${topic}`;
    const got = [new Map<string, number>(), new Map<string, number>()];
    const members = got.map((mine) => {
      const s = session({ clientId: `bridge-${randomUUID()}`, protocolVersion, subscriptions: [filter] });
      s.onMessage((m, done) => {
        const body = m.payload.toString();
        mine.set(body, (mine.get(body) ?? 0) + 1);
        setTimeout(() => done(), 5);
      });
      return s;
    });
    await Promise.all(members.map((s) => s.start()));

    await publishNumbered(topic, 200);
    await until(() => new Set([...got[0].keys(), ...got[1].keys()]).size === 200, 'all 200 messages across the group');

    expect(got[0].size).toBeGreaterThan(0);
    expect(got[1].size).toBeGreaterThan(0);
    expect(got[0].size + got[1].size).toBe(200); // split, not copied
    await Promise.all(members.map((s) => s.stop()));
  });
});

describe('MqttSession start-up', () => {
  it('rejects with a retriable error when nothing listens, and can be started again', async () => {
    const s = session({
      clientId: `bridge-${randomUUID()}`,
      protocolVersion: 4,
      subscriptions: [uniqueTopic()],
      port: 1,
      connectTimeoutMs: 2000,
    });
    s.onMessage((_m, done) => done());
    await expect(s.start()).rejects.toMatchObject({ retriable: true });
    clientIds.clear(); // nothing was created on the broker
  });

  it('refuses to start without a handler', async () => {
    const s = session({ clientId: `bridge-${randomUUID()}`, protocolVersion: 5, subscriptions: [uniqueTopic()] });
    await expect(s.start()).rejects.toThrow(/onMessage/);
  });
});
