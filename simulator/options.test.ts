import { effectiveInterval, parseArgs, resolveConfig, SIMULATOR_FLAGS } from './options';
import { usage } from './usage';
import { configErrorOf } from '../testkit/config-error';

function configOf(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseArgs(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

describe('simulator options', () => {
  it('defaults: 10 devices every 5 s to portfolio/telemetry, MQTT 3.1.1 at QoS 1', () => {
    const c = configOf([]);
    expect(c.fleet.deviceCount).toBe(10);
    expect(c.fleet.interval).toBe(5);
    expect(c.mqtt).toMatchObject({
      broker: 'localhost',
      port: 1883,
      topic: 'portfolio/telemetry',
      qos: 1,
      version: 4,
      perDeviceTopics: false,
    });
    expect(c.fleet.seed).toBeNull();
    expect(c.fleet.timestampFormat).toBe('s.ms');
    expect(c.anomalies.kinds).toEqual(['spike', 'stuck', 'drift']);
  });

  it('reads the shared environment variables', () => {
    const c = configOf([], {
      DEVICE_COUNT: '50',
      INTERVAL: '2',
      MQTT_BROKER: 'mqtt.local',
      MQTT_PORT: '1884',
      MQTT_TOPIC: 'plant/telemetry',
    });
    expect(c.fleet.deviceCount).toBe(50);
    expect(c.fleet.interval).toBe(2);
    expect(c.mqtt).toMatchObject({ broker: 'mqtt.local', port: 1884, topic: 'plant/telemetry' });
  });

  it('takes the basic fleet flags, which win over the environment', () => {
    const c = configOf(['--device-count', '5', '--interval', '2', '--broker', 'localhost', '--topic', 'portfolio/telemetry'], {
      DEVICE_COUNT: '50',
    });
    expect(c.fleet.deviceCount).toBe(5);
    expect(c.fleet.interval).toBe(2);
  });

  it('takes --flag=value, fractional intervals and boolean flags', () => {
    const c = configOf([
      '--interval=0.25',
      '--no-wait',
      '--with-seq',
      '--per-device-topics',
      '--qos',
      '0',
      '--mqtt-version',
      '5',
      '--seed',
      '42',
      '--anomaly-kinds',
      'spike,drift',
      '--progress=false',
    ]);
    expect(c.fleet.interval).toBe(0.25);
    expect(c.fleet.noWait).toBe(true);
    expect(c.fleet.withSeq).toBe(true);
    expect(c.mqtt.perDeviceTopics).toBe(true);
    expect(c.mqtt.qos).toBe(0);
    expect(c.mqtt.version).toBe(5);
    expect(c.fleet.seed).toBe(42);
    expect(c.anomalies.kinds).toEqual(['spike', 'drift']);
    expect(c.output.progress).toBe(false);
  });

  it('takes --batch N (readings per message, SIM_BATCH) and refuses it with per-device topics, naming the flag', () => {
    expect(configOf([]).fleet.batch).toBe(1);
    expect(configOf(['--batch', '10']).fleet.batch).toBe(10);
    expect(configOf([], { SIM_BATCH: '5' }).fleet.batch).toBe(5);
    expect(() => configOf(['--batch', '0'])).toThrow(/--batch \(fleet\.batch\)/);
    expect(() => configOf(['--batch', '10', '--per-device-topics'])).toThrow(
      /--batch \(fleet\.batch\): a gateway batch holds several devices/,
    );
    expect(() => configOf(['--per-device-topics'])).not.toThrow();
  });

  it('lets --rate (total readings/s) set the interval', () => {
    const c = configOf(['--device-count', '20', '--rate', '1000', '--interval', '9']);
    expect(effectiveInterval(c.fleet)).toBe(0.02);
  });

  it('names every bad key at once, by flag or by environment variable', () => {
    const err = configErrorOf(() =>
      parseArgs(
        [
          '--device-count',
          '0',
          '--qos',
          '2',
          '--bogus',
          '--timestamp-format',
          'x',
          '--spike-sigma',
          '3',
          '--seed',
          '-1',
          '--start',
          'yesterday',
          'extra',
          '--topic',
        ],
        {
          INTERVAL: 'abc',
          MQTT_PORT: '99999',
        },
      ),
    );
    expect(err.keys).toEqual(
      expect.arrayContaining([
        '--bogus',
        'extra',
        '--topic',
        '--device-count (fleet.deviceCount)',
        '--qos (mqtt.qos)',
        '--timestamp-format (fleet.timestampFormat)',
        '--spike-sigma (anomalies.spikeSigma)',
        '--seed (fleet.seed)',
        '--start (fleet.start)',
        'INTERVAL (fleet.interval)',
        'MQTT_PORT (mqtt.port)',
      ]),
    );
    expect(err.keys).toHaveLength(11);
    expect(err.message).toContain('must be 0 or 1');
  });

  it('checks rules between keys', () => {
    const err = configErrorOf(() =>
      parseArgs(['--timestamp-format', 's', '--interval', '0.5', '--drop-rate', '0.6', '--late-rate', '0.6'], {}),
    );
    expect(err.keys).toEqual(['--interval (fleet.interval)', '--drop-rate (faults.dropRate)']);
    expect(err.message).toMatch(/1 s precision/);
    const tooFast = configErrorOf(() => parseArgs(['--device-count', '1', '--rate', '5000'], {}));
    expect(tooFast.keys).toEqual(['--rate (fleet.rate)']);
  });

  it('validates programmatic options the same way', () => {
    expect(() => resolveConfig({ 'fleet.count': 1.5 })).toThrow(/fleet\.count/);
    expect(resolveConfig({ 'fleet.count': 3 }).fleet.count).toBe(3);
  });

  it('says a flag needs a value when the next word is another flag, and still reads that flag', () => {
    const err = configErrorOf(() => parseArgs(['--topic', '--qos', '2', '--no-wait=0'], {}));
    expect(err.keys).toEqual(['--topic', '--qos (mqtt.qos)']);
    expect(err.message).toContain('needs a value');
    expect(configOf(['--no-wait=0', '--with-seq=1']).fleet).toMatchObject({ noWait: false, withSeq: true });
    expect(parseArgs(['-h'], {})).toEqual({ help: true });
  });

  it('prints help listing every flag with its default and environment variable', () => {
    expect(parseArgs(['--help'], {})).toEqual({ help: true });
    const text = usage(SIMULATOR_FLAGS);
    for (const flag of [
      '--device-count',
      '--interval',
      '--broker',
      '--port',
      '--topic',
      '--rate',
      '--seed',
      '--count',
      '--duration',
      '--qos',
      '--with-seq',
      '--mqtt-version',
      '--ground-truth',
      '--start',
      '--speedup',
      '--no-wait',
      '--progress',
      '--per-device-topics',
    ]) {
      expect(text).toContain(flag);
    }
    expect(text).toContain('[DEVICE_COUNT]');
  });
});
