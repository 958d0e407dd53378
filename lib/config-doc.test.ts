import { configTable, withConfigTable, CONFIG_END, CONFIG_START } from './config-doc';

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
