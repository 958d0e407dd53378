import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { bridgeSchema } from '../bridge/config';
import { writerSchema } from '../writer/config';
import { detectorServiceSchema } from '../detector/config';
import { createTestTopics, TestTopics, uniqueName } from '../testkit/kafka';
import { testMqttTopics } from '../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { activeTargets, instantQuery, nativePrometheus } from '../testkit/prometheus';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const ROOT = join(__dirname, '..');

/** promtool from the Debian prometheus package, which deploy/native/up.sh installs. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  if (run.error) throw new Error(`promtool: ${run.error.message} (npm run stack:up installs it)`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('Prometheus configuration', () => {
  it('promtool accepts the alerting rules', () => {
    const { status, output } = promtool('check', 'rules', 'deploy/prometheus/alerts.yml');
    expect([status, output]).toEqual([0, expect.stringMatching(/SUCCESS: \d+ rules found/)]);
  });

  it("promtool accepts compose's config and the native stack's generated one, with their rule files", () => {
    for (const file of ['deploy/prometheus.yml', nativePrometheus().configFile]) {
      const { status, output } = promtool('check', 'config', file);
      expect([file, status, output]).toEqual([
        file,
        0,
        expect.stringMatching(/SUCCESS: 1 rule files found.*Checking \S*deploy\/prometheus\/alerts\.yml\s+SUCCESS: \d+ rules found/s),
      ]);
    }
  });

  it("the native config scrapes each service's default metrics port on loopback", () => {
    const config = parse(readFileSync(nativePrometheus().configFile, 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]));
    expect(targets.bridge).toEqual([`127.0.0.1:${bridgeSchema.metrics.port.default}`]);
    expect(targets.writer).toEqual([`127.0.0.1:${writerSchema.metrics.port.default}`]);
    expect(targets.detector).toEqual([`127.0.0.1:${detectorServiceSchema.metrics.port.default}`]);
  });
});

/**
 * The services run here on random metrics ports (METRICS_PORT=0, as in every test, so tests
 * never collide with each other or with `npm start` on the default ports); each joins its job
 * through a file_sd file in the native Prometheus' targets folder, labelled with this run.
 */
describe('the native Prometheus scrapes the running services', () => {
  const prometheus = nativePrometheus();
  const run = uniqueName('prom-test');
  const files: string[] = [];
  const running: ServiceProcess[] = [];
  let db: TestDatabase;
  let topics: TestTopics;

  beforeAll(async () => {
    db = await createMigratedDatabase('prometheus');
    topics = await createTestTopics('prometheus');
  });
  afterAll(async () => {
    for (const f of files) rmSync(f, { force: true });
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await db?.drop();
  });

  async function register(job: string, service: ServiceProcess): Promise<void> {
    await waitUntil(`${job} metrics port`, () => service.metricsPort > 0);
    const file = join(prometheus.targetsDir, `${job}-${run}.json`);
    files.push(file);
    writeFileSync(file, JSON.stringify([{ targets: [`127.0.0.1:${service.metricsPort}`], labels: { test_run: run } }]));
  }

  it('reports the bridge, writer and detector targets up, and has their metrics', async () => {
    const bridge = new ServiceProcess('bridge', [], { ...topics.env, ...testMqttTopics().env });
    const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: `writer-${topics.telemetry}` });
    const detector = new ServiceProcess('detector', [], { ...topics.env, DETECTOR_GROUP_ID: `detector-${topics.telemetry}` });
    running.push(bridge, writer, detector);
    await Promise.all([bridge.waitForLog(/bridge running/), writer.waitForLog(/writer running/), detector.waitForLog(/detector running/)]);
    await register('bridge', bridge);
    await register('writer', writer);
    await register('detector', detector);

    const ours = async () => (await activeTargets(prometheus.url)).filter((t) => t.labels.test_run === run);
    const up = await waitUntil(
      'every target up',
      async () => {
        const targets = await ours();
        return targets.length === 3 && targets.every((t) => t.health === 'up') && targets;
      },
      60000,
      500,
    );
    expect(up.map((t) => t.labels.job).sort()).toEqual(['bridge', 'detector', 'writer']);
    expect(up.map((t) => t.labels.instance).sort()).toEqual([bridge, writer, detector].map((p) => `127.0.0.1:${p.metricsPort}`).sort());

    // the scrapes landed: `up` is 1, and each service's series are stored under its job
    const series = async (q: string) => (await instantQuery(prometheus.url, q)).map((s) => [s.metric.job, s.value]).sort();
    expect(await series(`up{test_run="${run}"}`)).toEqual([
      ['bridge', 1],
      ['detector', 1],
      ['writer', 1],
    ]);
    expect((await series(`process_cpu_seconds_total{test_run="${run}"}`)).map(([job]) => job)).toEqual(['bridge', 'detector', 'writer']);
    expect(await series(`iot_bridge_messages_received_total{test_run="${run}"}`)).toEqual([['bridge', 0]]);
  });
});
