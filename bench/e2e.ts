import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Consumer } from 'kafkajs';
import { AvroCodec, createRegistry } from '../lib/avro';
import { createLogger } from '../lib/log';
import { Alert, alertSchemaText } from '../schemas';
import { simulateFleet } from '../simulator';
import { createTestTopics, testKafka, uniqueName } from '../testkit/kafka';
import { testMqttTopics } from '../testkit/mqtt';
import type { Engine } from '../db/migrate';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { ServiceProcess } from '../testkit/service-process';
import { Accounted, cpuPerReading, postgresWorksFor, CpuRow, cpuTable, readCpu, SELF, stackDir, stackProcesses } from './cpu';
import { BENCH_SEED, deleteTopics } from './fixtures';
import { Benchmark, BenchContext, BenchResult, Figure, numberFlag, percentile } from './report';

interface Step {
  engine: Engine;
  /** Readings per MQTT message (1, or a gateway batch). */
  batch: number;
  rate: number;
  /** MQTT messages the simulator sent. */
  messages: number;
  /** CPU µs per reading over the step (publish start to last row seen), per process and in total. */
  cpu: { rows: CpuRow[]; total: number };
  published: number;
  visible: number;
  /** ms from a reading's device time to the poll that first saw its row. */
  latencies: number[];
  /** ms from the device time of the reading that raised an alert to the alert's arrival here. */
  alertLatencies: number[];
  /** Rows still missing this long after the last publish. */
  missingAfterGrace: number;
  achievedRate: number;
}

/**
 * Watches device_telemetry for the readings the simulator published. Every `everyMs` it asks
 * for rows at or after the oldest reading not yet seen (the time index answers that), and a
 * reading's latency is the poll's start (its snapshot is at least that late) minus the
 * reading's device time. So each figure is an upper bound, at most one poll interval plus
 * one query above the truth.
 */
class RowWatcher {
  private readonly pending = new Map<string, number>();
  /** Published readings in publish order (≈ time order): the oldest unseen is near the head. */
  private readonly order: { key: string; ms: number }[] = [];
  private head = 0;
  readonly latencies: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly db: Pick<TestDatabase['pool'], 'query'>,
    private readonly everyMs: number,
  ) {}

  published(deviceId: string, timeMs: number): void {
    const key = `${deviceId}|${timeMs}`;
    this.pending.set(key, timeMs);
    this.order.push({ key, ms: timeMs });
  }

  get missing(): number {
    return this.pending.size;
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.polling) await new Promise((r) => setTimeout(r, 10));
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    while (this.head < this.order.length && !this.pending.has(this.order[this.head].key)) this.head++;
    if (this.head >= this.order.length) return;
    this.polling = true;
    try {
      // A little slack below the oldest unseen: publish order and time order differ by ms.
      const from = new Date(Math.min(...this.order.slice(this.head, this.head + 2000).map((o) => o.ms)) - 1000);
      const snapshot = Date.now();
      const { rows } = await this.db.query<{ d: string; ms: number }>(
        `SELECT device_id AS d, (extract(epoch FROM time) * 1000)::float8 AS ms FROM device_telemetry WHERE time >= $1`,
        [from],
      );
      for (const r of rows) {
        const key = `${r.d}|${Math.round(r.ms)}`;
        const t = this.pending.get(key);
        if (t === undefined) continue;
        this.pending.delete(key);
        this.latencies.push(snapshot - t);
      }
    } finally {
      this.polling = false;
    }
  }
}

/**
 * Reads the alerts topic as the detector produces it. An alert raised by a reading as it
 * arrives (anomaly, low battery) gets a latency: its arrival here minus the device time of that
 * reading. Silence alerts are raised by the absence of readings and have none.
 */
class AlertWatcher {
  private latencies: number[] = [];
  private readonly consumer: Consumer = testKafka().consumer({ groupId: uniqueName('bench-e2e-alerts') });
  private readonly codec = new AvroCodec<Alert>(createRegistry(process.env.SCHEMA_REGISTRY_URL!), alertSchemaText);

  async start(topic: string): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      eachBatch: async ({ batch }) => {
        const arrived = Date.now();
        await this.codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) {
          const alert = this.codec.decode(m.value);
          if (alert.kind === 'anomaly' || alert.kind === 'low_battery') this.latencies.push(arrived - alert.reading_time / 1000);
        }
      },
    });
  }

  /** The latencies since the last call. */
  take(): number[] {
    const taken = this.latencies;
    this.latencies = [];
    return taken;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

const discard = new Writable({ write: (_c, _e, cb) => cb() });

interface LadderOptions {
  devices: number;
  seconds: number;
  graceS: number;
  partitions: number;
  pollMs: number;
  maxP99Ms: number;
  rates: number[];
}

/** The offered rates in turn against one engine and payload shape, until one is not sustained. */
async function ladder(engine: Engine, batch: number, o: LadderOptions, progress: BenchContext['progress']): Promise<Step[]> {
  const { devices, seconds, graceS, partitions, pollMs, maxP99Ms, rates } = o;
  const topics = await createTestTopics('bench-e2e', partitions);
  const mqtt = testMqttTopics();
  const db = await createMigratedDatabase('bench_e2e', { engine });
  const bridge = new ServiceProcess('bridge', [], { ...topics.env, ...mqtt.env });
  const writer = new ServiceProcess('writer', [], {
    ...topics.env,
    ...db.env,
    WRITER_GROUP_ID: `bench-e2e-${randomBytes(4).toString('hex')}`,
    WRITER_SINK_ALERTS: 'false',
  });
  const detector = new ServiceProcess('detector', [], { ...topics.env, DETECTOR_GROUP_ID: uniqueName('bench-e2e-detector') });
  const alerts = new AlertWatcher();
  const steps: Step[] = [];
  // Every process on the machine that takes part: ours by their pid, the stack's by its pid files.
  const accounted: Accounted[] = [
    { name: 'bridge', pid: () => bridge.pid },
    { name: 'writer', pid: () => writer.pid },
    { name: 'detector', pid: () => detector.pid },
    { name: SELF, pid: () => process.pid },
    ...stackProcesses(stackDir()),
  ];
  // The row watcher's queries on a connection of their own, so that its backend's CPU (the
  // measurement's, not the pipeline's) is shown apart from PostgreSQL's.
  const watcherDb = await db.pool.connect();
  const watcherPid = (await watcherDb.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const postgres = accounted.find((a) => a.name === 'postgresql');
  if (postgres) {
    postgres.except = () => [watcherPid];
    postgres.childFilter = postgresWorksFor(db.env.POSTGRES_DB);
  }
  accounted.push({ name: 'row watcher (its PostgreSQL backend)', pid: () => watcherPid, measurement: true });
  const shape = batch === 1 ? '1 reading/message' : `batches of ${batch}`;
  try {
    progress.phase(`${engine}, ${shape}: starting bridge, writer and detector`);
    await bridge.waitForLog(/bridge running/);
    await writer.waitForLog(/joined group/);
    await detector.waitForLog(/assignment ready/);
    await alerts.start(topics.alerts);
    const log = createLogger('simulator', 'warn');
    for (const rate of rates) {
      const watcher = new RowWatcher(watcherDb, pollMs);
      watcher.start();
      progress.phase(
        `${engine}, ${shape}: offered ${rate}/s for ${seconds} s`,
        () => `latest latency ${watcher.latencies.at(-1) ?? '-'} ms, unseen ${watcher.missing}`,
      );
      const cpuBefore = readCpu(accounted);
      const started = Date.now();
      const summary = await simulateFleet({
        mqtt: { broker: process.env.MQTT_BROKER, port: Number(process.env.MQTT_PORT), topic: mqtt.shared },
        fleet: { deviceCount: devices, rate, duration: seconds, seed: BENCH_SEED, timestampFormat: 's.ms', batch },
        dropouts: { rate: 0 },
        anomalies: { rate: 0.001, kinds: ['spike'] },
        output: { progress: false },
        progress: discard,
        log,
        onPublish: (e) => watcher.published(e.reading.device_id, e.reading.timeMs),
      });
      const graceEnd = Date.now() + graceS * 1000;
      while (watcher.missing > 0 && Date.now() < graceEnd) await new Promise((r) => setTimeout(r, pollMs));
      await watcher.stop();
      await watcher.poll();
      const cpuAfter = readCpu(accounted);
      const visible = summary.published - watcher.missing;
      const lastSeenMs = Date.now() - started;
      steps.push({
        engine,
        batch,
        rate,
        messages: summary.messages,
        cpu: cpuPerReading(cpuBefore, cpuAfter, visible, new Set(accounted.filter((a) => a.measurement).map((a) => a.name))),
        published: summary.published,
        visible,
        latencies: watcher.latencies,
        alertLatencies: alerts.take(),
        missingAfterGrace: watcher.missing,
        achievedRate: visible / (Math.min(lastSeenMs, (seconds + graceS) * 1000) / 1000),
      });
      // A rate the pipeline could not keep up with ends the ladder: higher ones would only queue.
      if (watcher.missing > 0 || percentile(watcher.latencies, 99) > maxP99Ms) break;
    }
  } finally {
    watcherDb.release();
    await alerts.stop();
    await Promise.all([bridge.kill('SIGTERM'), writer.kill('SIGTERM'), detector.kill('SIGTERM')]);
    await db.drop();
    await deleteTopics([topics.telemetry, topics.alerts, topics.dlq]);
  }

  return steps;
}

async function run({ flags, progress }: BenchContext): Promise<BenchResult> {
  const devices = numberFlag(flags, 'devices', 1000);
  const seconds = numberFlag(flags, 'seconds', 60);
  const graceS = numberFlag(flags, 'grace', 5);
  const partitions = numberFlag(flags, 'partitions', 6);
  const pollMs = numberFlag(flags, 'poll-ms', 100);
  const maxP99Ms = numberFlag(flags, 'max-p99-ms', 5000);
  const rates = String(flags.rates ?? '1000,2000,4000,8000')
    .split(',')
    .map(Number)
    .filter((r) => r > 0);
  const batches = String(flags.batch ?? '1,10')
    .split(',')
    .map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1))
    throw new Error(`--batch must be a comma-separated list of integers >= 1, got ${flags.batch}`);

  const engines = String(flags.engines ?? 'timescaledb,postgresql').split(',') as Engine[];
  const steps: Step[] = [];
  // one ladder per storage engine and payload shape, one after the other, each with its own
  // topics, database and services
  for (const engine of engines) {
    for (const batch of batches)
      steps.push(...(await ladder(engine, batch, { devices, seconds, graceS, partitions, pollMs, maxP99Ms, rates }, progress)));
  }

  const figures: Figure[] = [];
  const shapeOf = (batch: number) => (batch === 1 ? '1/msg' : `batch ${batch}`);
  for (const s of steps) {
    const at = `${s.engine}, ${shapeOf(s.batch)}, offered ${s.rate}/s`;
    figures.push({ metric: `${at}: rows seen per second`, value: s.achievedRate, unit: 'readings/s' });
    figures.push({ metric: `${at}: CPU, all processes`, value: s.cpu.total, unit: 'µs/reading' });
    figures.push({ metric: `${at}: latency p50`, value: percentile(s.latencies, 50), unit: 'ms' });
    figures.push({ metric: `${at}: latency p99`, value: percentile(s.latencies, 99), unit: 'ms' });
    figures.push({ metric: `${at}: rows visible`, value: s.visible, unit: `of ${s.published}` });
    figures.push({
      metric: `${at}: alert latency p50`,
      value: percentile(s.alertLatencies, 50),
      unit: `ms (${s.alertLatencies.length} alerts)`,
    });
    figures.push({ metric: `${at}: alert latency p99`, value: percentile(s.alertLatencies, 99), unit: 'ms' });
  }
  const sustainedStep = (engine: Engine, batch: number) =>
    steps
      .filter((s) => s.engine === engine && s.batch === batch && s.missingAfterGrace === 0 && percentile(s.latencies, 99) <= maxP99Ms)
      .at(-1);
  const sustainedRate = (engine: Engine, batch: number) => sustainedStep(engine, batch)?.rate ?? 0;
  const cpuTables: string[] = [];
  for (const batch of batches) {
    for (const engine of engines) {
      const base = engines[0] === engine ? undefined : sustainedRate(engines[0], batch);
      figures.push({
        metric: `${engine}, ${shapeOf(batch)}: highest sustained offered rate`,
        value: sustainedRate(engine, batch),
        unit: 'readings/s',
        ...(base ? { baseline: base, ratio: sustainedRate(engine, batch) / base } : {}),
      });
      const at = sustainedStep(engine, batch);
      if (at)
        figures.push({
          metric: `${engine}, ${shapeOf(batch)}: CPU at the sustained rate, all processes`,
          value: at.cpu.total,
          unit: 'µs/reading',
        });
      const ladderSteps = steps.filter((s) => s.engine === engine && s.batch === batch);
      cpuTables.push(
        `CPU per reading, ${engine}, ${shapeOf(batch)} (columns: offered rate; a step that was not sustained is marked *):\n` +
          cpuTable(
            ladderSteps.map((s) => ({
              title: `${s.rate}/s${s.missingAfterGrace > 0 || percentile(s.latencies, 99) > maxP99Ms ? '*' : ''}`,
              rows: s.cpu.rows,
              total: s.cpu.total,
              rate: s.achievedRate,
            })),
          ),
      );
    }
  }
  return {
    params: { devices, seconds, graceS, partitions, pollMs, maxP99Ms, rates, engines, batches },
    figures,
    notes: [
      `Simulator (in the benchmark process, ${devices} devices, QoS 1, paced in real time so device time = wall time, 0.1 % of readings spiked) → Mosquitto → bridge → Kafka (${partitions} partitions) → writer (default batch 5000, linger 200 ms) → device_telemetry, and → detector → alerts topic; bridge, writer and detector as their own processes, rates offered in turn (${rates.join(', ')}/s, ${seconds} s each), the whole ladder once per engine (${engines.join(', ')}), each into its own database with its own topics and services.`,
      "Alert latency = arrival of an anomaly or low-battery alert at a consumer in the benchmark process minus the device time of the reading that raised it; an alert arriving after its step's grace period counts in the next step.",
      `Payload shapes (--batch ${batches.join(',')}): 1 = one reading per MQTT message; N = a gateway per N devices publishing their readings as one JSON array. Services run from the compiled dist/.`,
      `CPU = user + system time from /proc/<pid>/stat, read before the step's first publish and after its last row was seen, divided by the rows seen: bridge, writer, detector, the benchmark process (simulator, row watcher, alert consumer; process.cpuUsage), and the stack's servers by their pid files under ${stackDir()}/run (PostgreSQL: the postmaster, its checkpointer, background and WAL writers, and the backends of the benchmark's database, except the row watcher's, shown apart and left out of the total: it is the measurement, polling every ${pollMs} ms; other databases' backends are left out, as the server is shared). Mosquitto, Kafka and the registry are counted whole: whatever else uses them at the same time counts too. Idle work (Kafka, registry, Prometheus housekeeping) counts too, so low rates show a higher cost per reading.`,
      ...cpuTables,
      `Latency = time of the poll (every ${pollMs} ms, rows at/after the oldest unseen reading) that first saw the row minus the reading's device time: an upper bound, within one poll interval plus one query of the truth. Sustained = every row visible within ${graceS} s after the last publish and p99 <= ${maxP99Ms} ms (--max-p99-ms). The first seconds of each step (connections, JIT, first fetch) are included.`,
    ],
    detail: steps.map((s) => ({
      ...s,
      latencies: undefined,
      alertLatencies: undefined,
      alerts: s.alertLatencies.length,
      p50: percentile(s.latencies, 50),
      p90: percentile(s.latencies, 90),
      p99: percentile(s.latencies, 99),
      max: percentile(s.latencies, 100),
    })),
  };
}

export const endToEndBench: Benchmark = {
  name: 'e2e',
  about:
    'simulator → Mosquitto → bridge → Kafka → writer → rows, and → detector → alerts: device→row and device→alert latency p50/p99 at offered rates (--rates 1000,2000,4000,8000 --seconds 60 --max-p99-ms 5000 --engines timescaledb,postgresql --batch 1,10), with CPU µs per reading of every process',
  run,
};
