import { configTable, sampleEnv, withConfigTable, CONFIG_END, CONFIG_START } from './config-doc';

const schema = {
  mqtt: { port: { doc: 'MQTT broker port', format: 'port', default: 1883, env: 'MQTT_PORT' } },
  secret: { doc: 'a password', format: String, default: 'x', env: 'PW', sensitive: true },
  topic: { doc: 'devices/<id>/telemetry | shared', format: String, default: '' },
};

describe('configTable', () => {
  it('lists every leaf with its env var, default and doc, hiding secrets and escaping Markdown', () => {
    const table = configTable(schema);
    expect(table).toContain('| mqtt.port | `MQTT_PORT` | `1883` | port | MQTT broker port |');
    expect(table).toContain('| secret | `PW` | (secret) | string | a password |');
    expect(table).toContain('| topic |  | `""` | string | devices/&lt;id&gt;/telemetry \\| shared |');
  });

  it('replaces only the generated block of a README', () => {
    const readme = `# x\n${CONFIG_START}\nold\n${CONFIG_END}\ntail\n`;
    const out = withConfigTable(readme, schema);
    expect(out).not.toContain('old');
    expect(out).toContain('tail');
    expect(out).toContain('MQTT_PORT');
  });
});

describe('sampleEnv', () => {
  const text = sampleEnv(
    {
      ...schema,
      seed: { doc: 'seed', format: Number, default: null, env: 'SEED' },
      kinds: { doc: 'kinds', format: Array, default: ['a', 'b'], env: 'KINDS' },
      note: { doc: "it's", format: String, default: "a b's", env: 'NOTE' },
    },
    'svc',
  );

  it('writes each setting with an env var commented out at its default, under its meaning', () => {
    expect(text.startsWith('# svc\n')).toBe(true);
    expect(text).toContain('# MQTT broker port [mqtt.port, port]\n#MQTT_PORT=1883\n');
    expect(text).toContain('#KINDS=a,b\n');
    expect(text).not.toContain('topic');
  });

  it('leaves secrets empty and names their _FILE form; says when there is no default', () => {
    expect(text).toContain('# secret: set it here, or name a file holding it in PW_FILE\n#PW=\n');
    expect(text).not.toContain('#PW=x');
    expect(text).toContain('# unset by default\n#SEED=\n');
  });

  it('quotes a default the shell would split or misread', () => {
    expect(text).toContain(`#NOTE='a b'\\''s'\n`);
  });
});
