import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../lib/log';
import { generateFleet, encodePayload, resolveConfig, simulateFleet, toFleetPlan, type FleetOptions } from '../simulator';
import type { GroundTruthEvent } from '../simulator';
import { waitUntil } from '../testkit/wait';

/** Simulator → real Mosquitto → an MQTT.js subscriber. Broker from MQTT_BROKER / MQTT_PORT. */
const BROKER = process.env.MQTT_BROKER ?? '127.0.0.1';
const PORT = Number(process.env.MQTT_PORT ?? 1883);
const START = '2024-11-28T00:00:00.000Z';
const log = createLogger('simulator-test', process.env.LOG_LEVEL ?? 'warn');

interface Received {
  topic: string;
  payload: string;
}

/** A QoS 1 subscriber; resolves once SUBACK is in, so nothing published afterwards is missed. */
async function subscriber(filter: string): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = mqtt.connect({ host: BROKER, port: PORT, clientId: `sim-test-sub-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
  const messages: Received[] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages };
}

/** Unique per test: parallel runs and other suites on the shared broker do not see each other. */
function unique(): { topic: string; prefix: string } {
  const tag = randomBytes(4).toString('hex');
  return { topic: `test/simulator/${tag}`, prefix: `sim-${tag}-` };
}

function base(topic: string, prefix: string): FleetOptions {
  return {
    mqtt: { broker: BROKER, port: PORT, topic },
    fleet: { idPrefix: prefix, seed: 20241128, start: START, noWait: true, withSeq: true },
    log,
  };
}

/** What the pure model says these options publish, in order. */
function expectedPayloads(options: FleetOptions): string[] {
  const { signal: _s, log: _l, onPublish: _o, progress: _p, nowMs: _n, ...config } = options;
  const flat: Record<string, unknown> = {};
  for (const [group, values] of Object.entries(config)) for (const [k, v] of Object.entries(values as object)) flat[`${group}.${k}`] = v;
  const resolved = resolveConfig(flat);
  const plan = toFleetPlan(resolved, resolved.fleet.seed!, Date.parse(START));
  return [...generateFleet(plan)].map((e) => encodePayload(e.reading, resolved.fleet.timestampFormat, resolved.fleet.withSeq));
}

const perDevice = (payloads: string[]) => {
  const map = new Map<string, string[]>();
  for (const p of payloads) {
    const id = JSON.parse(p).device_id as string;
    map.set(id, [...(map.get(id) ?? []), p]);
  }
  return map;
};

describe('simulator against Mosquitto', () => {
  const clients: MqttClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('delivers 5 devices × 20 readings at QoS 1 exactly as generated, each acknowledged', async () => {
    const { topic, prefix } = unique();
    const sub = await subscriber(topic);
    clients.push(sub.client);
    const options: FleetOptions = { ...base(topic, prefix), fleet: { ...base(topic, prefix).fleet, deviceCount: 5, count: 20 } };
    const sent: Received[] = [];
    const summary = await simulateFleet({ ...options, onPublish: (_e, t, payload) => sent.push({ topic: t, payload }) });

    expect(summary).toMatchObject({
      readings: 100,
      published: 100,
      acked: 100,
      failed: 0,
      drained: true,
      interrupted: false,
      seed: 20241128,
    });
    expect(Object.keys(summary.ackedByDevice)).toHaveLength(5);
    for (const n of Object.values(summary.ackedByDevice)) expect(n).toBe(20);

    await waitUntil('100 messages at the subscriber', () => sub.messages.length >= 100, 20_000, 20);
    expect(sub.messages).toHaveLength(100);
    expect(sub.messages.every((m) => m.topic === topic)).toBe(true);
    // Exactly as the pure model generates them: same payloads, in order per device.
    const expected = expectedPayloads(options);
    expect(sent.map((m) => m.payload)).toEqual(expected);
    expect(perDevice(sub.messages.map((m) => m.payload))).toEqual(perDevice(expected));
    const first = JSON.parse(sub.messages[0].payload);
    expect(Object.keys(first)).toEqual(['device_id', 'firmware', 'temperature', 'humidity', 'battery', 'timestamp', 'seq']);
  });

  it('with --batch 4 publishes a gateway per 4 devices, each message a JSON array of the readings generated', async () => {
    const { topic, prefix } = unique();
    const sub = await subscriber(topic);
    clients.push(sub.client);
    const options: FleetOptions = { ...base(topic, prefix), fleet: { ...base(topic, prefix).fleet, deviceCount: 10, count: 6, batch: 4 } };
    const summary = await simulateFleet(options);
    // 60 readings: gateways of devices 0-3 and 4-7 fill 6 arrays each, devices 8-9 fill 3.
    expect(summary).toMatchObject({ readings: 60, published: 60, acked: 60, messages: 15, failed: 0, drained: true });

    await waitUntil('15 messages at the subscriber', () => sub.messages.length >= 15, 20_000, 20);
    const arrays = sub.messages.map((m) => JSON.parse(m.payload) as { device_id: string }[]);
    expect(arrays.every((a) => Array.isArray(a) && a.length === 4)).toBe(true);
    for (const a of arrays) {
      const gateways = new Set(a.map((r) => Math.floor((Number(r.device_id.slice(prefix.length)) - 1) / 4)));
      expect(gateways.size).toBe(1);
    }
    const elements = sub.messages.flatMap((m) => (JSON.parse(m.payload) as unknown[]).map((r) => JSON.stringify(r)));
    expect(perDevice(elements)).toEqual(perDevice(expectedPayloads(options)));
  });

  it('paces readings in real time when not told otherwise', async () => {
    const { topic, prefix } = unique();
    const sub = await subscriber(topic);
    clients.push(sub.client);
    const arrivals: number[] = [];
    sub.client.on('message', () => arrivals.push(Date.now()));
    const summary = await simulateFleet({
      ...base(topic, prefix),
      fleet: { idPrefix: prefix, seed: 1, deviceCount: 3, interval: 0.2, count: 5 },
    });
    expect(summary.acked).toBe(15);
    await waitUntil('15 messages', () => sub.messages.length >= 15, 10_000, 20);
    // 5 readings 0.2 s apart, the fleet spread over each interval: about 0.93 s from first to last.
    expect(summary.elapsedSeconds).toBeGreaterThan(0.85);
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThan(750);
    const stamps = sub.messages.map((m) => JSON.parse(m.payload).timestamp as number);
    expect(Math.abs(stamps[0] * 1000 - Date.now())).toBeLessThan(10_000);
  });

  it('publishes to per-device topics over MQTT 5, writing ground truth of injected faults', async () => {
    const { prefix } = unique();
    const sub = await subscriber('devices/+/telemetry');
    clients.push(sub.client);
    const groundTruth = join(mkdtempSync(join(tmpdir(), 'sim-')), 'truth.jsonl');
    const summary = await simulateFleet({
      ...base('unused', prefix),
      mqtt: { broker: BROKER, port: PORT, perDeviceTopics: true, version: 5 },
      fleet: { idPrefix: prefix, seed: 3, start: START, noWait: true, withSeq: true, deviceCount: 4, count: 50 },
      faults: { duplicateRate: 0.05, dropRate: 0.05 },
      output: { groundTruth },
    });
    const events = readFileSync(groundTruth, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as GroundTruthEvent);
    const dups = events.filter((e) => e.kind === 'duplicate').length;
    expect(dups).toBeGreaterThan(0);
    expect(summary).toMatchObject({
      readings: 200,
      duplicates: dups,
      published: 200 + dups,
      acked: 200 + dups,
      groundTruthEvents: events.length,
    });
    const mine = () => sub.messages.filter((m) => m.topic.startsWith(`devices/${prefix}`));
    await waitUntil('all per-device messages', () => mine().length >= 200 + dups, 20_000, 20);
    for (const m of mine()) expect(m.topic).toBe(`devices/${JSON.parse(m.payload).device_id}/telemetry`);
    // Dropped readings never arrive; their seq is missing at the subscriber.
    const dropped = events.filter((e) => e.kind === 'dropped');
    const seen = new Set(mine().map((m) => `${JSON.parse(m.payload).device_id}#${JSON.parse(m.payload).seq}`));
    for (const d of dropped) expect(seen.has(`${d.device_id}#${d.seq}`)).toBe(false);
  });

  it('reconnects with backoff after the connection drops and loses nothing', async () => {
    const { topic, prefix } = unique();
    const sub = await subscriber(topic);
    clients.push(sub.client);
    const proxy = await tcpProxy(BROKER, PORT);
    try {
      const run = simulateFleet({
        ...base(topic, prefix),
        mqtt: { broker: '127.0.0.1', port: proxy.port, topic, reconnectMin: 0.05, reconnectMax: 0.5, inflight: 50 },
        fleet: { idPrefix: prefix, seed: 9, start: START, withSeq: true, deviceCount: 5, interval: 0.05, count: 40 },
      });
      // Cut every connection twice while readings flow.
      for (let cut = 1; cut <= 2; cut++) {
        await waitUntil(`messages before cut ${cut}`, () => sub.messages.length >= cut * 60, 20_000, 10);
        proxy.cutAll();
      }
      const summary = await run;
      expect(proxy.connections).toBeGreaterThanOrEqual(3);
      expect(summary).toMatchObject({ readings: 200, acked: 200, failed: 0, drained: true });
      await waitUntil('every reading at the subscriber', () => new Set(sub.messages.map((m) => m.payload)).size >= 200, 20_000, 20);
      // QoS 1 is at least once: a resend after the cut may arrive twice, but every reading arrives.
      expect(new Set(sub.messages.map((m) => m.payload))).toEqual(
        new Set(
          expectedPayloads({
            ...base(topic, prefix),
            fleet: { idPrefix: prefix, seed: 9, start: START, withSeq: true, deviceCount: 5, interval: 0.05, count: 40 },
          }),
        ),
      );
    } finally {
      await proxy.close();
    }
  });

  it('on abort stops generating, waits for outstanding PUBACKs and disconnects', async () => {
    const { topic, prefix } = unique();
    const controller = new AbortController();
    let published = 0;
    const run = simulateFleet({
      ...base(topic, prefix),
      fleet: { idPrefix: prefix, seed: 2, deviceCount: 10, interval: 0.1 },
      signal: controller.signal,
      onPublish: () => {
        published += 1;
        if (published === 30) controller.abort();
      },
    });
    const summary = await run;
    expect(summary).toMatchObject({ interrupted: true, drained: true, published: 30, acked: 30 });
  });
});

/** A TCP relay to the broker whose connections the test can cut, as a network failure would. */
async function tcpProxy(
  host: string,
  port: number,
): Promise<{ port: number; connections: number; cutAll(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = tcpConnect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    cutAll() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
