import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { dashboardQueries, DashboardQuery } from '../testkit/grafana-dashboards';
import { expandGrafanaSql, parseInterval } from '../testkit/grafana-macros';
import { createTestTopics, TestTopics } from '../testkit/kafka';
import { testMqttTopics } from '../testkit/mqtt';
import { createMigratedDatabase, TestDatabase } from '../testkit/pg';
import { exposedMetricNames, metricNames, substituteGrafanaVariables } from '../testkit/promql';
import { ServiceProcess } from '../testkit/service-process';
import { waitUntil } from '../testkit/wait';

const ROOT = join(__dirname, '..');
const SQL_DATASOURCE = 'iot-timescaledb';
const PROM_DATASOURCE = 'iot-prometheus';

const queries = dashboardQueries();
const sqlQueries = queries.filter((q) => q.datasourceUid === SQL_DATASOURCE);
const alertRules = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
};

// ---------------------------------------------------------------------------------------------
// Simulated fleet: 4 devices reporting over 40 days up to now, and alerts spread over the same
// time so that every range below has some. Readings are sparse in the past (every 6 hours,
// hourly in the last 2 days, every 5 minutes in the last hour): on PostgreSQL without
// TimescaleDB the rollups are views that call the time_bucket shim for every row they read, at
// about half a millisecond a row on this machine, so a dense fleet would take minutes here.
// ---------------------------------------------------------------------------------------------
const DEVICES = ['dev-1', 'dev-2', 'dev-3', 'dev-4'];
const SELECTED = ['dev-1', 'dev-4']; // the $device selection: two of the four
const NOW = Date.now();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function readingTimes(device: number): number[] {
  const times = new Set<number>();
  const every = (span: number, step: number) => {
    for (let ago = 0; ago <= span; ago += step) times.add(NOW - ago - device * 7000);
  };
  every(40 * DAY, 6 * HOUR);
  every(2 * DAY, HOUR);
  every(HOUR, 300_000);
  return [...times].sort((a, b) => a - b);
}

async function insertFleet(db: TestDatabase): Promise<number> {
  const cols: { time: string[]; device: string[]; temperature: number[]; humidity: number[]; battery: number[] } = {
    time: [],
    device: [],
    temperature: [],
    humidity: [],
    battery: [],
  };
  DEVICES.forEach((device, d) => {
    for (const t of readingTimes(d)) {
      const daily = Math.sin((2 * Math.PI * t) / DAY);
      cols.time.push(new Date(t).toISOString());
      cols.device.push(device);
      cols.temperature.push(22 + d + 3 * daily);
      cols.humidity.push(30 + 12 * d + 10 * daily);
      // dev-4 drains from 100 % to 8 % over the 40 days; the others hold
      cols.battery.push(d === 3 ? 8 + (92 * (NOW - t)) / (40 * DAY) : 95 - 5 * d);
    }
  });
  for (let i = 0; i < cols.time.length; i += 10_000) {
    const slice = (a: unknown[]) => a.slice(i, i + 10_000);
    await db.pool.query(
      `INSERT INTO device_telemetry (time, device_id, firmware, temperature, humidity, battery)
       SELECT t, d, '1.0.0', te, h, b FROM unnest($1::timestamptz[], $2::text[], $3::float8[], $4::float8[], $5::float8[]) AS u(t, d, te, h, b)`,
      [slice(cols.time), slice(cols.device), slice(cols.temperature), slice(cols.humidity), slice(cols.battery)],
    );
  }
  const alerts: [device: string, kind: string, metric: string | null, value: number | null][] = [
    ['dev-1', 'anomaly', 'temperature', 41.5],
    ['dev-4', 'low_battery', 'battery', 12.5],
    ['dev-1', 'device_inactive', null, null],
    ['dev-2', 'anomaly', 'humidity', 99], // not selected: must not show
  ];
  for (const ago of [20 * 60_000, 5 * 3_600_000, 3 * DAY, 20 * DAY]) {
    for (const [device, kind, metric, value] of alerts) {
      const at = new Date(NOW - ago);
      await db.pool.query(
        `INSERT INTO device_alerts (alert_id, device_id, kind, metric, value, mean, stddev, z, threshold, reading_time, detected_at)
         VALUES ($1, $2, $3, $4, $5, 22, 1.5, 4.2, 3, $6, $6)`,
        [`${device}-${kind}-${ago}`, device, kind, metric, value, at],
      );
    }
  }
  return cols.time.length;
}

// A time range as the dashboards' pickers offer it, with the $__interval Grafana rounds to
// for a ~1000 px wide panel; a panel's min interval ("1m") raises it.
const RANGES = [
  { name: 'last 1 hour (1-minute rollup)', ms: 3_600_000, intervalMs: 5_000 },
  { name: 'last 24 hours (1-minute rollup)', ms: DAY, intervalMs: 60_000 },
  { name: 'last 30 days (1-hour rollup)', ms: 30 * DAY, intervalMs: 1_800_000 },
];

function contextFor(q: DashboardQuery, range: (typeof RANGES)[number]) {
  const min = q.minInterval ? parseInterval(q.minInterval) : 0;
  return {
    from: new Date(NOW - range.ms),
    to: new Date(NOW),
    intervalMs: Math.max(min, range.intervalMs),
    variables: { device: SELECTED },
  };
}

describe('Grafana dashboards: SQL panels against a migrated database with a simulated fleet', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    const migrated = await createMigratedDatabase('grafana');
    db = migrated;
    const rows = await insertFleet(db);
    process.stdout.write(`grafana: ${rows} readings on ${migrated.report.engine}\n`);
  });
  afterAll(() => db?.drop());

  it('finds the panels, variables and annotations to test, each on a provisioned data source', () => {
    const provisioned = parse(readFileSync(join(ROOT, 'grafana/provisioning/datasources/datasources.yml'), 'utf8')) as {
      datasources: { uid: string }[];
    };
    const uids = new Set(provisioned.datasources.map((d) => d.uid));
    expect(queries.filter((q) => !uids.has(q.datasourceUid)).map((q) => q.where)).toEqual([]);
    expect(sqlQueries.length).toBeGreaterThanOrEqual(15);
    expect(sqlQueries.some((q) => q.where.includes('variable $device'))).toBe(true);
    expect(sqlQueries.some((q) => q.where.includes('annotation'))).toBe(true);
  });

  it('long ranges read the rollups: only bounded queries touch the raw table', () => {
    const raw = sqlQueries.filter((q) => /\bdevice_telemetry\b(?!_)/.test(q.text)).map((q) => q.where);
    // the last 5 minutes only, and one row per device through the (device_id, time DESC) index
    expect(raw.sort()).toEqual([
      'IoT fleet overview / Devices reporting (last 5 min) [A]',
      'IoT fleet overview / Devices: last reading [A]',
    ]);
  });

  it('the $device variable lists every device of the range', async () => {
    const variable = sqlQueries.find((q) => q.where.endsWith('variable $device'))!;
    const { rows } = await db.pool.query(expandGrafanaSql(variable.text, contextFor(variable, RANGES[1])));
    expect(rows.map((r) => Object.values(r)[0])).toEqual(DEVICES);
  });

  // before the per-range runs: it counts devices reporting in the last 5 minutes of the wall clock
  it('stat panels count what was simulated', async () => {
    const stat = async (title: string, range = RANGES[1]) => {
      const q = sqlQueries.find((x) => x.where.includes(`/ ${title} [`))!;
      const { rows } = await db.pool.query(expandGrafanaSql(q.text, contextFor(q, range)));
      return Number(Object.values(rows[0])[0]);
    };
    expect(await stat('Devices reporting (last 5 min)')).toBe(2);
    expect(await stat('Devices seen in range')).toBe(2);
    // 3 alerts of the selected devices at each instant; 2 of the 4 instants are in the last 24 h
    expect(await stat('Alerts in range')).toBe(3 * 2);
    expect(await stat('Alerts in range', RANGES[2])).toBe(3 * 4);
  });

  describe.each(RANGES)('$name', (range) => {
    it.each(sqlQueries.map((q) => [q.where, q] as const))('%s returns rows of the selected devices only', async (_where, q) => {
      const sql = expandGrafanaSql(q.text, contextFor(q, range));
      const { rows, fields } = await db.pool.query(sql);
      expect(rows.length).toBeGreaterThan(0);
      const columns = fields.map((f) => f.name);
      // the variable's own query lists all devices; everything else honours the selection
      // (a time series' metric column is its device; in the alerts table it is the alert's metric)
      const deviceColumns = q.where.includes('variable') ? [] : q.format === 'time_series' ? ['metric'] : ['device_id'];
      for (const col of deviceColumns.filter((c) => columns.includes(c))) {
        expect(rows.map((r) => r[col] as string).filter((d) => !SELECTED.includes(d))).toEqual([]);
      }
      if (q.format === 'time_series') {
        // Grafana's time series frames: a "time" column, ascending, and numbers in the others
        expect(columns[0]).toBe('time');
        const times = rows.map((r) => new Date(r.time as string).getTime());
        expect(times).toEqual([...times].sort((a, b) => a - b));
        expect(times[0]).toBeGreaterThanOrEqual(NOW - range.ms - 3_600_000);
        const values = rows.flatMap((r) => columns.filter((c) => c !== 'time' && c !== 'metric').map((c) => r[c]));
        expect(values.some((v) => v !== null && Number.isFinite(Number(v)))).toBe(true);
      }
      if (q.where.includes('annotation')) expect(columns).toEqual(['time', 'text', 'tags']);
    });
  });
});

describe('PromQL of dashboards and alert rules names only exported metrics', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createMigratedDatabase('grafana_prom');
    topics = await createTestTopics('grafana');
  });
  afterAll(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill('SIGTERM')));
    await db?.drop();
  });

  async function exported(): Promise<Set<string>> {
    const bridge = new ServiceProcess('bridge', [], { ...topics.env, ...testMqttTopics().env });
    const writer = new ServiceProcess('writer', [], { ...topics.env, ...db.env, WRITER_GROUP_ID: `writer-${topics.telemetry}` });
    const detector = new ServiceProcess('detector', [], { ...topics.env, DETECTOR_GROUP_ID: `detector-${topics.telemetry}` });
    running.push(bridge, writer, detector);
    await bridge.waitForLog(/bridge running/);
    await writer.waitForLog(/writer running/);
    // The gauges appear once the detector is live on its assignment.
    await detector.waitForLog(/assignment ready/);
    await waitUntil('the detector lag gauges', async () => (await detector.metrics()).includes('iot_detector_consumer_lag{'));
    const names = new Set<string>(['up']);
    for (const service of [bridge, writer, detector]) {
      await waitUntil(`${service.command} metrics port`, () => service.metricsPort > 0);
      for (const n of exposedMetricNames(await service.metrics())) names.add(n);
    }
    return names;
  }

  it('reads names from PromQL with the Prometheus grammar', () => {
    expect(metricNames('sum by (le) (rate(a_bucket{job="x"}[5m])) / on(job) b:rec or vector(0)')).toEqual(['a_bucket', 'b:rec']);
    expect(() => metricNames('sum(rate(a[5m])')).toThrow(/syntax error/);
  });

  it('every selector of the system-health dashboard and deploy/prometheus/alerts.yml exists', async () => {
    const names = await exported();
    // the services really were read: process metrics and each one's own
    const probes = [
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
      'iot_bridge_readings_produced_total',
      'iot_writer_write_seconds_bucket',
    ];
    expect(probes.filter((n) => !names.has(n))).toEqual([]);
    const recorded = alertRules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
    const expressions = [
      ...queries
        .filter((q) => q.datasourceUid === PROM_DATASOURCE)
        .map((q) => ({ where: q.where, expr: substituteGrafanaVariables(q.text) })),
      ...alertRules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alerts.yml ${r.alert ?? r.record}`, expr: r.expr }))),
    ];
    expect(expressions.length).toBeGreaterThanOrEqual(30);
    const unknown = expressions.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !names.has(n) && !recorded.includes(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });
});
