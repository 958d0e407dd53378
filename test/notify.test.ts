import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Admin, Producer } from 'kafkajs';
import { alertId } from '../detector/alert';
import { AvroCodec, createRegistry } from '../lib/avro';
import { DLQ_HEADERS } from '../lib/dlq';
import { subjectOf } from '../lib/topics';
import { Alert, alertSchemaText } from '../schemas';
import { createTestTopics, groupLag, header, readTopic, testKafka, TestTopics, uniqueName } from '../testkit/kafka';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const T0 = Date.parse('2026-12-01T10:00:00Z') * 1000;

function alert(i: number): Alert {
  const device = `dev-${i % 7}`;
  const readingTime = T0 + i * 1_000_000;
  return {
    alert_id: alertId(device, 'anomaly', 'temperature', readingTime),
    device_id: device,
    kind: 'anomaly',
    metric: 'temperature',
    value: 30 + i,
    mean: 20,
    stddev: 0.5,
    z: 20 + 2 * i,
    threshold: 4.2,
    reading_time: readingTime,
    detected_at: readingTime / 1000,
    details: null,
  };
}

interface Received {
  key: string | undefined;
  body: string;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1 that answers each request as `answer` says: a status, or
 * 'hang' (no answer before the notifier's timeout). Records every request.
 */
async function receiver(answer: (key: string, nth: number) => number | 'hang', delayMs = 0) {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const key = req.headers['idempotency-key'] as string | undefined;
      const nth = requests.filter((r) => r.key === key).length + 1;
      const a = answer(key ?? '', nth);
      const record = { key, body, status: a === 'hang' ? 0 : a };
      requests.push(record);
      if (a === 'hang') return void setTimeout(() => res.destroy(), 3000);
      setTimeout(() => {
        res.writeHead(a, { 'content-type': 'text/plain' });
        res.end(a === 400 ? 'channel_not_found' : 'ok');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    requests,
    /** Keys answered 2xx at least once. */
    delivered: () => new Set(requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.key)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('notify', () => {
  let topics: TestTopics;
  let producer: Producer;
  let admin: Admin;
  let codec: AvroCodec<Alert>;
  const running: ServiceProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  function startNotifier(url: string, groupId: string, extra: Record<string, string> = {}): ServiceProcess {
    const p = new ServiceProcess('notify', ['--webhook', url], {
      ...topics.env,
      NOTIFY_GROUP_ID: groupId,
      NOTIFY_DLQ_TOPIC: topics.dlq,
      NOTIFY_FROM_BEGINNING: 'true',
      NOTIFY_TIMEOUT_MS: '500',
      NOTIFY_RETRY_MIN_MS: '50',
      NOTIFY_RETRY_MAX_MS: '400',
      NOTIFY_REJECT_ATTEMPTS: '2',
      ...extra,
    });
    running.push(p);
    return p;
  }

  async function produceAlerts(alerts: Alert[]): Promise<void> {
    await producer.send({ topic: topics.alerts, acks: -1, messages: alerts.map((a) => ({ key: a.device_id, value: codec.encode(a) })) });
  }

  beforeEach(async () => {
    topics = await createTestTopics('notify');
    codec = new AvroCodec<Alert>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), alertSchemaText);
    await codec.register(subjectOf(topics.alerts));
    producer = testKafka().producer();
    admin = testKafka().admin();
    await Promise.all([producer.connect(), admin.connect()]);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await Promise.all(closers.splice(0).map((c) => c()));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  it('delivers every alert through 5xx answers and a timeout, with one idempotency key per alert, and parks the one the receiver refuses', async () => {
    const alerts = Array.from({ length: 20 }, (_, i) => alert(i));
    const failing = new Set([alerts[3].alert_id, alerts[11].alert_id]);
    const hanging = alerts[7].alert_id;
    const refused = alerts[15].alert_id;
    const hook = await receiver((key, nth) => {
      if (key === refused) return 400;
      if (failing.has(key) && nth <= 2) return 503;
      if (key === hanging && nth === 1) return 'hang';
      return 200;
    });
    closers.push(hook.close);
    await produceAlerts(alerts);
    const groupId = uniqueName('notify');
    const notifier = startNotifier(hook.url, groupId);

    await waitUntil('every alert but the refused one delivered', () => hook.delivered().size === alerts.length - 1);
    expect([...hook.delivered()].sort()).toEqual(
      alerts
        .map((a) => a.alert_id)
        .filter((id) => id !== refused)
        .sort(),
    );
    // Each request carries its alert's id as the key, and the alert itself as the body.
    for (const r of hook.requests) expect(JSON.parse(r.body).alert_id).toBe(r.key);
    const tries = (key: string) => hook.requests.filter((r) => r.key === key).length;
    for (const key of failing) expect(tries(key)).toBe(3);
    expect(tries(hanging)).toBe(2);
    expect(tries(refused)).toBe(2);

    const [dead] = await readTopic(topics.dlq, 1);
    expect(header(dead, DLQ_HEADERS.reason)).toBe('webhook-rejected');
    expect(header(dead, DLQ_HEADERS.detail)).toBe('HTTP 400: channel_not_found (after 2 attempts)');
    expect(header(dead, DLQ_HEADERS.source)).toMatch(new RegExp(`^kafka:${topics.alerts.replace(/\./g, '\\.')}/\\d+@\\d+$`));
    expect(codec.decode(dead.value).alert_id).toBe(refused);

    await waitUntil('every offset committed', async () => (await groupLag(admin, groupId, topics.alerts)) === 0);
    expect(await notifier.metricValue('iot_notify_alerts_total', { outcome: 'delivered' })).toBe(alerts.length - 1);
    expect(await notifier.metricValue('iot_notify_alerts_total', { outcome: 'dead_lettered' })).toBe(1);
    expect(await notifier.metricValue('iot_notify_attempts_total', { result: '5xx' })).toBe(4);
    expect(await notifier.metricValue('iot_notify_attempts_total', { result: 'timeout' })).toBe(1);
    expect((await fetch(`http://127.0.0.1:${notifier.metricsPort}/healthz`)).status).toBe(200);
  });

  it('a SIGKILLed notifier is resumed by the next one without losing an alert (Slack format)', async () => {
    const alerts = Array.from({ length: 40 }, (_, i) => alert(i));
    const hook = await receiver(() => 200, 50);
    closers.push(hook.close);
    await produceAlerts(alerts);
    const groupId = uniqueName('notify');
    const first = startNotifier(hook.url, groupId, { NOTIFY_FORMAT: 'slack' });
    await waitUntil('some alerts delivered', () => hook.delivered().size >= 8);
    await first.kill('SIGKILL');
    const atKill = hook.delivered().size;
    expect(atKill).toBeLessThan(alerts.length);

    startNotifier(hook.url, groupId, { NOTIFY_FORMAT: 'slack' });
    await waitUntil('every alert delivered', () => hook.delivered().size === alerts.length, 120000);
    expect([...hook.delivered()].sort()).toEqual(alerts.map((a) => a.alert_id).sort());
    for (const r of hook.requests)
      expect(JSON.parse(r.body)).toEqual({
        text: expect.stringMatching(/^iot-pipeline: 2026-12-01T10:\d\d:\d\d\.000Z {2}anomaly +dev-\d {2}temperature/),
      });
    // A repeat (the alert in flight at the kill) comes with the key of its first sending: one key per alert text.
    const keysByText = new Map<string, Set<string | undefined>>();
    for (const r of hook.requests) keysByText.set(r.body, (keysByText.get(r.body) ?? new Set()).add(r.key));
    expect(keysByText.size).toBe(alerts.length);
    for (const keys of keysByText.values()) expect(keys.size).toBe(1);
  });
});
