import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Producer } from 'kafkajs';
import { groundTruthEvent, toJsonLine } from '../schemas/ground-truth';
import { Reading } from '../schemas';
import { createTestTopics, groupLag, telemetryCodec, testKafka, TestTopics, uniqueName } from '../testkit/kafka';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const EVERY_MS = 5000;
/** The stream of detector/backtest.test.ts: spikes scoring z ≈ 4.82, 9.77 and 29.47 over an alternating baseline. */
const SPIKES = new Map([
  [100, 20.6],
  [150, 21.1],
  [200, 23.1],
]);
/** No silence alerts: the live detector judges silence by the wall clock, which a test cannot pin down. */
const NO_SILENCE = { INACTIVE_AFTER_SECONDS: '86400', INACTIVE_MAX_SECONDS: '86400' };

describe('backtest', () => {
  let topics: TestTopics;
  let producer: Producer;
  let admin: Admin;
  const running: ServiceProcess[] = [];

  beforeEach(async () => {
    topics = await createTestTopics('backtest');
    producer = testKafka().producer();
    admin = testKafka().admin();
    await Promise.all([producer.connect(), admin.connect()]);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  async function backtest(args: string[]): Promise<Record<string, any>> {
    const p = new ServiceProcess('backtest', [...args, '--json'], { ...topics.env, ...NO_SILENCE });
    const { code } = await p.exited;
    expect({ code, output: code === 0 ? '' : p.tail() }).toEqual({ code: 0, output: '' });
    return JSON.parse(p.output.find((l) => l.startsWith('{"topic"'))!);
  }

  it('at two thresholds over the same history, differs from the live detector by the hand-computed alert', async () => {
    // 250 readings of one device, 5 s apart, ending a minute ago; logged at their own time, as a live bridge would.
    const t0 = Date.now() - 60_000 - 250 * EVERY_MS;
    const codec = await telemetryCodec(topics.telemetry);
    const readings = Array.from({ length: 250 }, (_, i): Reading => {
      const ms = t0 + i * EVERY_MS;
      return {
        device_id: 'dev-1',
        time: ms * 1000,
        firmware: null,
        temperature: SPIKES.get(i) ?? (i % 2 === 0 ? 20.0 : 20.2),
        humidity: null,
        battery: null,
        seq: null,
        ingested_at: ms,
      };
    });
    await producer.send({
      topic: topics.telemetry,
      acks: -1,
      messages: readings.map((r) => ({ key: r.device_id, value: codec.encode(r), timestamp: String(r.ingested_at) })),
    });

    // The live detector at the default threshold (4.2).
    const groupId = uniqueName('detector');
    running.push(new ServiceProcess('detector', [], { ...topics.env, ...NO_SILENCE, DETECTOR_GROUP_ID: groupId }));
    await waitUntil('the detector to commit every reading', async () => (await groupLag(admin, groupId, topics.telemetry)) === 0);

    const truth = join(tmpdir(), `${uniqueName('truth')}.jsonl`);
    writeFileSync(
      truth,
      [100, 150, 200]
        .map((i) =>
          toJsonLine(
            groundTruthEvent({
              device_id: 'dev-1',
              kind: 'spike',
              metric: 'temperature',
              start_ms: t0 + i * EVERY_MS,
              end_ms: t0 + i * EVERY_MS,
              readings: 1,
            }),
          ),
        )
        .join(''),
    );
    const range = ['--from', new Date(t0 + 50 * EVERY_MS).toISOString(), '--to', 'now', '--ground-truth', truth];

    const same = await backtest(range);
    expect(same).toMatchObject({ liveAlerts: 3, readings: 250, warmupReadings: 50 });
    expect(same.settingsChanged).toEqual({ inactiveAfterSeconds: 86400, inactiveMaxSeconds: 86400 });
    expect(same.perKind.anomaly).toEqual({ onlyNew: 0, onlyOld: 0, both: 3 });
    expect(same.total).toEqual({ onlyNew: 0, onlyOld: 0, both: 3 });

    const strict = await backtest([...range, '--z-threshold', '8']);
    expect(strict.settingsChanged).toEqual({ ...same.settingsChanged, zThreshold: 8 });
    expect(strict.perKind.anomaly).toEqual({ onlyNew: 0, onlyOld: 1, both: 2 });
    expect(strict.onlyOld).toHaveLength(1);
    expect(strict.onlyOld[0]).toMatchObject({ kind: 'anomaly', device_id: 'dev-1', reading_time: (t0 + 100 * EVERY_MS) * 1000 });
    expect(strict.truth).toMatchObject({
      events: 3,
      new: { recall: { spike: { found: 2 } }, unexplained: 0 },
      old: { recall: { spike: { found: 3 } }, unexplained: 0 },
    });
  });
});
