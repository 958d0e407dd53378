import { analyticsConfigSchema } from '../analytics/config';
import { bridgeSchema } from '../bridge/config';
import { dbConfigSchema } from '../db/config';
import { detectorServiceSchema } from '../detector/config';
import { loadConfig } from '../lib/config';
import { notifySchema } from '../notify/config';
import { simulatorSchema } from '../simulator/options';
import { writerSchema } from '../writer/config';

/**
 * A setting that says no must mean no: convict's own Boolean reads `0` as true, so every boolean
 * setting of every command must use lib/config.ts's `boolean-text`. Here, not in lib/, because
 * it needs every service's schema (lib knows no service).
 */
const SCHEMAS: Record<string, object> = {
  bridge: bridgeSchema,
  writer: writerSchema,
  detector: detectorServiceSchema,
  simulate: simulatorSchema,
  analytics: analyticsConfigSchema,
  migrate: dbConfigSchema,
  notify: notifySchema,
};

interface Leaf {
  path: string;
  format: unknown;
  default: unknown;
  env?: string;
}

function leaves(node: object, prefix = ''): Leaf[] {
  return Object.entries(node).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof child !== 'object' || child === null) return [];
    return 'default' in child ? [{ path, ...child } as Leaf] : leaves(child, path);
  });
}

const valueAt = (config: object, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);

const booleans = Object.entries(SCHEMAS).flatMap(([command, schema]) =>
  leaves(schema)
    .filter((leaf) => typeof leaf.default === 'boolean')
    .map((leaf) => ({ command, schema, ...leaf })),
);

describe('boolean settings', () => {
  it('are found in every service that has one (an empty list would pass anything)', () => {
    expect(booleans.map((b) => `${b.command} ${b.env}`)).toEqual(
      expect.arrayContaining([
        'bridge KAFKA_SSL',
        'writer WRITER_SINK_ALERTS',
        'writer WRITER_FROM_BEGINNING',
        'detector DETECTOR_FROM_BEGINNING',
        'simulate SIM_NO_WAIT',
        'notify NOTIFY_FROM_BEGINNING',
      ]),
    );
  });

  it.each(booleans.map((b) => ({ name: `${b.command} ${b.path}`, b })))('$name is read by boolean-text', ({ b }) => {
    expect(b.format).toBe('boolean-text');
  });

  const TEXTS: [string, boolean][] = [
    ['0', false],
    ['false', false],
    ['1', true],
    ['true', true],
  ];
  it.each(booleans.flatMap((b) => TEXTS.map(([text, value]) => ({ name: `${b.command} ${b.env}=${text}`, b, text, value }))))(
    '$name reads as it says',
    ({ b, text, value }) => {
      const config = loadConfig(b.schema, {}, { [b.env as string]: text });
      expect(valueAt(config, b.path)).toBe(value);
    },
  );
});
