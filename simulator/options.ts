import convict from 'convict';
import { loadConfig, mqttSchema } from '../lib/config';
import { ConfigError } from '../lib/errors';
import type { AnomalyKind } from '../schemas/ground-truth';
import { TIMESTAMP_FORMATS, type TimestampFormat } from './payload';
import { flagsOf, parseFlags } from './flags';

/**
 * The simulator's configuration: one convict schema (the pipeline's shared env names where
 * there is one, such as DEVICE_COUNT and MQTT_BROKER, SIM_* otherwise), each key with the CLI flag that sets it (`arg`). Flags override env.
 */
export interface SimulatorConfig {
  mqtt: {
    broker: string;
    port: number;
    username: string;
    password: string;
    tls: boolean;
    caFile: string;
    certFile: string;
    keyFile: string;
    serverName: string;
    topic: string;
    perDeviceTopics: boolean;
    qos: 0 | 1;
    version: 4 | 5;
    clientId: string;
    inflight: number;
    reconnectMin: number;
    reconnectMax: number;
    drainTimeout: number;
  };
  fleet: {
    deviceCount: number;
    interval: number;
    rate: number;
    idPrefix: string;
    seed: number | null;
    count: number;
    duration: number;
    start: string;
    speedup: number;
    noWait: boolean;
    withSeq: boolean;
    timestampFormat: TimestampFormat;
    batch: number;
  };
  anomalies: { rate: number; kinds: AnomalyKind[]; spikeSigma: number; driftSigma: number; length: number };
  dropouts: { rate: number; duration: number };
  faults: { lateRate: number; lateDelay: number; outOfOrderRate: number; duplicateRate: number; dropRate: number };
  output: { groundTruth: string; progress: boolean };
}

const ANOMALY_KINDS: readonly AnomalyKind[] = ['spike', 'stuck', 'drift'];
/** Spikes smaller than this are hard to tell from the noise itself; drift covers subtle changes. */
export const MIN_SPIKE_SIGMA = 5;

function numberFormat(name: string, ok: (n: number) => boolean, expected: string): void {
  convict.addFormat({
    name,
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) throw new Error(`must be ${expected}`);
    },
    coerce: (v: string) => (v.trim() === '' ? NaN : Number(v)),
  });
}
// Prefixed names: convict's format registry is global, and other services may register their own.
numberFormat('sim-probability', (n) => n >= 0 && n <= 1, 'a probability between 0 and 1');
numberFormat('sim-non-negative', (n) => n >= 0, 'a number >= 0');
numberFormat('sim-non-negative-int', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
numberFormat('sim-seed', (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'an integer between 0 and 4294967295');
numberFormat('sim-spike-sigma', (n) => n >= MIN_SPIKE_SIGMA, `a number >= ${MIN_SPIKE_SIGMA} (σ of the device's noise)`);
numberFormat('sim-qos', (n) => n === 0 || n === 1, '0 or 1');
numberFormat('sim-mqtt-version', (n) => n === 4 || n === 5, '4 (MQTT 3.1.1) or 5');
convict.addFormat({
  name: 'sim-mqtt-topic',
  validate(value: unknown) {
    if (typeof value !== 'string' || value === '' || /[+#\0]/.test(value)) {
      throw new Error('must be a non-empty MQTT topic without wildcards');
    }
  },
});
convict.addFormat({
  name: 'sim-iso-time',
  validate(value: unknown) {
    if (typeof value !== 'string' || (value !== '' && Number.isNaN(Date.parse(value)))) {
      throw new Error('must be an ISO 8601 time, e.g. 2024-11-28T00:00:00Z');
    }
  },
});
convict.addFormat({
  name: 'sim-anomaly-kinds',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((k) => !ANOMALY_KINDS.includes(k))) {
      throw new Error(`must be a comma-separated list of ${ANOMALY_KINDS.join(', ')} (empty for none)`);
    }
  },
  coerce: (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
});

export const simulatorSchema: convict.Schema<SimulatorConfig> = {
  mqtt: {
    broker: { ...mqttSchema.broker, arg: 'broker' },
    port: { ...mqttSchema.port, arg: 'port' },
    username: { ...mqttSchema.username, arg: 'username' },
    password: { ...mqttSchema.password, arg: 'password' },
    tls: { ...mqttSchema.tls, arg: 'tls' },
    caFile: { ...mqttSchema.caFile, arg: 'ca-file' },
    certFile: { ...mqttSchema.certFile, arg: 'cert-file' },
    keyFile: { ...mqttSchema.keyFile, arg: 'key-file' },
    serverName: { ...mqttSchema.serverName, arg: 'server-name' },
    topic: {
      doc: 'Topic all devices publish to',
      format: 'sim-mqtt-topic',
      default: 'portfolio/telemetry',
      env: 'MQTT_TOPIC',
      arg: 'topic',
    },
    perDeviceTopics: {
      doc: 'Publish to devices/<id>/telemetry instead of the shared topic',
      format: 'boolean-text',
      default: false,
      env: 'SIM_PER_DEVICE_TOPICS',
      arg: 'per-device-topics',
    },
    qos: { doc: 'MQTT QoS of each publish (1: wait for PUBACK)', format: 'sim-qos', default: 1, env: 'MQTT_QOS', arg: 'qos' },
    version: {
      doc: 'MQTT protocol version: 4 is 3.1.1, 5 is MQTT 5',
      format: 'sim-mqtt-version',
      default: 4,
      env: 'MQTT_VERSION',
      arg: 'mqtt-version',
    },
    clientId: { doc: 'MQTT client id (empty: iot-sim-<random>)', format: String, default: '', env: 'SIM_CLIENT_ID', arg: 'client-id' },
    inflight: {
      doc: "Most publishes awaiting PUBACK at once (capped by an MQTT 5 broker's Receive Maximum)",
      format: 'positive-int',
      default: 1000,
      env: 'SIM_INFLIGHT',
      arg: 'inflight',
    },
    reconnectMin: {
      doc: 'First reconnect delay, s (doubles per failed attempt, with jitter)',
      format: 'positive-number',
      default: 0.5,
      env: 'SIM_RECONNECT_MIN',
      arg: 'reconnect-min',
    },
    reconnectMax: {
      doc: 'Longest reconnect delay, s',
      format: 'positive-number',
      default: 30,
      env: 'SIM_RECONNECT_MAX',
      arg: 'reconnect-max',
    },
    drainTimeout: {
      doc: 'On stop, how long to wait for outstanding PUBACKs, s',
      format: 'positive-number',
      default: 30,
      env: 'SIM_DRAIN_TIMEOUT',
      arg: 'drain-timeout',
    },
  },
  fleet: {
    deviceCount: { doc: 'Number of virtual devices', format: 'positive-int', default: 10, env: 'DEVICE_COUNT', arg: 'device-count' },
    interval: {
      doc: "Seconds between one device's readings (fractions allowed)",
      format: 'positive-number',
      default: 5,
      env: 'INTERVAL',
      arg: 'interval',
    },
    rate: {
      doc: 'Total readings/s across the fleet; if set, interval = device-count / rate',
      format: 'sim-non-negative',
      default: 0,
      env: 'SIM_RATE',
      arg: 'rate',
    },
    idPrefix: {
      doc: 'Device id prefix (ids are <prefix>001, <prefix>002, ...)',
      format: String,
      default: 'device-',
      env: 'SIM_ID_PREFIX',
      arg: 'id-prefix',
    },
    seed: {
      doc: 'Seed of the model; the same seed gives the same readings (unset: random, logged)',
      format: 'sim-seed',
      default: null,
      nullable: true,
      env: 'SIM_SEED',
      arg: 'seed',
    },
    count: {
      doc: 'Readings per device, then exit (0: no limit)',
      format: 'sim-non-negative-int',
      default: 0,
      env: 'SIM_COUNT',
      arg: 'count',
    },
    duration: {
      doc: 'Simulated seconds to run, then exit (0: no limit)',
      format: 'sim-non-negative',
      default: 0,
      env: 'SIM_DURATION',
      arg: 'duration',
    },
    start: {
      doc: 'Device time of the first reading, ISO 8601 (empty: now)',
      format: 'sim-iso-time',
      default: '',
      env: 'SIM_START',
      arg: 'start',
    },
    speedup: { doc: 'Simulated seconds per wall-clock second', format: 'positive-number', default: 1, env: 'SIM_SPEEDUP', arg: 'speedup' },
    noWait: {
      doc: 'Publish as fast as the broker acknowledges; timestamps still step by interval',
      format: 'boolean-text',
      default: false,
      env: 'SIM_NO_WAIT',
      arg: 'no-wait',
    },
    withSeq: {
      doc: 'Add a per-device seq counter field (gaps show dropped readings)',
      format: 'boolean-text',
      default: false,
      env: 'SIM_WITH_SEQ',
      arg: 'with-seq',
    },
    timestampFormat: {
      doc: 'timestamp field: s.ms (epoch s with ms fraction), s, ms or iso',
      format: [...TIMESTAMP_FORMATS],
      default: 's.ms',
      env: 'SIM_TIMESTAMP_FORMAT',
      arg: 'timestamp-format',
    },
    batch: {
      doc: 'Readings per MQTT message: a gateway per group of N devices publishes their readings as one JSON array (1: one reading per message)',
      format: 'positive-int',
      default: 1,
      env: 'SIM_BATCH',
      arg: 'batch',
    },
  },
  anomalies: {
    rate: {
      doc: 'Probability per reading that an anomaly starts',
      format: 'sim-probability',
      default: 0.001,
      env: 'SIM_ANOMALY_RATE',
      arg: 'anomaly-rate',
    },
    kinds: {
      doc: 'Anomaly kinds to inject: spike, stuck, drift',
      format: 'sim-anomaly-kinds',
      default: ['spike', 'stuck', 'drift'],
      env: 'SIM_ANOMALY_KINDS',
      arg: 'anomaly-kinds',
    },
    spikeSigma: {
      doc: `Spike size in σ of the device's noise (>= ${MIN_SPIKE_SIGMA})`,
      format: 'sim-spike-sigma',
      default: 6,
      env: 'SIM_SPIKE_SIGMA',
      arg: 'spike-sigma',
    },
    driftSigma: {
      doc: 'Drift offset at its last reading, in σ',
      format: 'positive-number',
      default: 8,
      env: 'SIM_DRIFT_SIGMA',
      arg: 'drift-sigma',
    },
    length: {
      doc: 'Readings a stuck sensor or a drift lasts',
      format: 'positive-int',
      default: 30,
      env: 'SIM_ANOMALY_LENGTH',
      arg: 'anomaly-length',
    },
  },
  dropouts: {
    rate: {
      doc: 'Probability per reading slot that a device goes silent',
      format: 'sim-probability',
      default: 0.0005,
      env: 'SIM_DROPOUT_RATE',
      arg: 'dropout-rate',
    },
    duration: {
      doc: 'Mean length of a dropout, s (exponentially distributed)',
      format: 'positive-number',
      default: 300,
      env: 'SIM_DROPOUT_DURATION',
      arg: 'dropout-duration',
    },
  },
  faults: {
    lateRate: {
      doc: 'Probability per reading of being sent late',
      format: 'sim-probability',
      default: 0,
      env: 'SIM_LATE_RATE',
      arg: 'late-rate',
    },
    lateDelay: {
      doc: 'How late a late reading is sent, s',
      format: 'positive-number',
      default: 30,
      env: 'SIM_LATE_DELAY',
      arg: 'late-delay',
    },
    outOfOrderRate: {
      doc: 'Probability per reading of being sent after the next one',
      format: 'sim-probability',
      default: 0,
      env: 'SIM_OUT_OF_ORDER_RATE',
      arg: 'out-of-order-rate',
    },
    duplicateRate: {
      doc: 'Probability per reading of being sent twice (same device and timestamp)',
      format: 'sim-probability',
      default: 0,
      env: 'SIM_DUPLICATE_RATE',
      arg: 'duplicate-rate',
    },
    dropRate: {
      doc: 'Probability per reading of being lost (a seq gap)',
      format: 'sim-probability',
      default: 0,
      env: 'SIM_DROP_RATE',
      arg: 'drop-rate',
    },
  },
  output: {
    groundTruth: {
      doc: 'Write injected anomalies, dropouts and faults to this JSONL file',
      format: String,
      default: '',
      env: 'SIM_GROUND_TRUTH',
      arg: 'ground-truth',
    },
    progress: {
      doc: 'Print a progress line every second (always on when stderr is a terminal)',
      format: 'boolean-text',
      default: false,
      env: 'SIM_PROGRESS',
      arg: 'progress',
    },
  },
};

export const SIMULATOR_FLAGS = flagsOf(simulatorSchema);

type Problem = { key: string; message: string };

export type ParsedArgs = { help: true } | { help: false; config: SimulatorConfig };

/**
 * Reads flags and environment into a validated configuration. Throws one ConfigError naming
 * every bad key: by its flag when a flag set it, else by its environment variable.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const parsed = parseFlags(argv, SIMULATOR_FLAGS);
  if (parsed.help) return { help: true };
  return { help: false, config: resolveConfig(parsed.values, env, parsed.problems) };
}

/** Validates overrides (config paths such as `fleet.deviceCount`) over env and defaults. */
export function resolveConfig(overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, earlier: Problem[] = []): SimulatorConfig {
  const problems = [...earlier];
  let config: SimulatorConfig | undefined;
  try {
    // The schema is checked against SimulatorConfig above; loadConfig's inferred type cannot see
    // through convict.Schema, so the result is restated.
    config = loadConfig(simulatorSchema, overrides, env) as unknown as SimulatorConfig;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...problemsOf(err).map((p) => nameByFlag(p, overrides)));
  }
  if (config) problems.push(...crossChecks(config, overrides));
  if (problems.length > 0) throw new ConfigError(problems);
  return config!;
}

/** The interval actually used, s: `--rate` wins over `--interval`. */
export function effectiveInterval(fleet: SimulatorConfig['fleet']): number {
  return fleet.rate > 0 ? fleet.deviceCount / fleet.rate : fleet.interval;
}

/** Rules between keys, which convict's per-key formats cannot express. */
function crossChecks(c: SimulatorConfig, overrides: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const key = (path: string) => keyName(path, overrides);
  const interval = effectiveInterval(c.fleet);
  const intervalKey = c.fleet.rate > 0 ? key('fleet.rate') : key('fleet.interval');
  if (interval < 0.001) {
    problems.push({ key: intervalKey, message: `gives an interval of ${interval} s; readings of one device need >= 1 ms between them` });
  } else if (c.fleet.timestampFormat === 's' && interval < 1) {
    problems.push({
      key: intervalKey,
      message: `gives an interval of ${interval} s, below the 1 s precision of --timestamp-format s (readings would share a timestamp)`,
    });
  }
  const f = c.faults;
  if (f.lateRate + f.outOfOrderRate + f.duplicateRate + f.dropRate > 1) {
    problems.push({ key: key('faults.dropRate'), message: 'late, out-of-order, duplicate and drop rates must add up to at most 1' });
  }
  if (c.fleet.batch > 1 && c.mqtt.perDeviceTopics) {
    problems.push({
      key: key('fleet.batch'),
      message: "a gateway batch holds several devices, so it cannot go to one device's topic (drop --per-device-topics)",
    });
  }
  if (c.mqtt.reconnectMin > c.mqtt.reconnectMax) {
    problems.push({ key: key('mqtt.reconnectMin'), message: 'must not exceed the longest reconnect delay' });
  }
  return problems;
}

function keyName(path: string, overrides: Record<string, unknown>): string {
  const spec = SIMULATOR_FLAGS.find((f) => f.path === path);
  if (spec && overrides[path] !== undefined) return `--${spec.flag} (${path})`;
  const env = spec?.env;
  return env ? `${env} (${path})` : path;
}

/** loadConfig names keys "ENV (path)"; a value that came from a flag is better named by the flag. */
function nameByFlag(p: Problem, overrides: Record<string, unknown>): Problem {
  const m = /^(?:\S+ \()?([\w.]+)\)?$/.exec(p.key);
  return m && overrides[m[1]] !== undefined ? { key: keyName(m[1], overrides), message: p.message } : p;
}

/** ConfigError carries its problems only as text: "  key: message" per line. */
function problemsOf(err: ConfigError): Problem[] {
  return err.message
    .split('\n')
    .slice(1)
    .map((line) => {
      const m = /^ {2}(.+?): (.*)$/.exec(line);
      return m ? { key: m[1], message: m[2] } : { key: '(config)', message: line.trim() };
    });
}
