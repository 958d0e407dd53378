/**
 * `npm run docs`: regenerates the tables of settings in the service READMEs, and each service's
 * `sample.env`, from the schemas that read them (Telegraf's habit), so the documentation cannot
 * drift from the code; docs.test.ts fails when one was not regenerated.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bridgeSchema } from '../bridge/config';
import { detectorServiceSchema } from '../detector/config';
import { CONFIG_END, CONFIG_START, configTable, replaceBlock, sampleEnv } from '../lib/config-doc';
import { SIMULATOR_FLAGS, simulatorSchema } from '../simulator/options';
import { flagTable } from '../simulator/usage';
import { writerSchema } from '../writer/config';
import { notifySchema } from '../notify/config';

/** Each README with a config table, and the convict schema the table is generated from. */
export const CONFIG_TABLES: Record<string, object> = {
  'bridge/README.md': bridgeSchema,
  'writer/README.md': writerSchema,
  'detector/README.md': detectorServiceSchema,
  'notify/README.md': notifySchema,
};

/** Each service's sample environment file, and the schema that reads it. */
export const SAMPLE_ENVS: Record<string, { title: string; schema: object }> = {
  'bridge/sample.env': { title: 'iot-pipeline bridge: MQTT -> validate -> Avro -> Kafka', schema: bridgeSchema },
  'writer/sample.env': { title: 'iot-pipeline writer: Kafka consumer group -> COPY into the database', schema: writerSchema },
  'detector/sample.env': { title: 'iot-pipeline detector: sliding windows and rules -> alerts', schema: detectorServiceSchema },
  'notify/sample.env': { title: 'iot-pipeline notify: alerts topic -> an HTTP webhook', schema: notifySchema },
  'simulator/sample.env': {
    title: 'iot-pipeline simulate: a fleet of virtual devices (every setting is also a flag)',
    schema: simulatorSchema,
  },
};

export interface GeneratedBlock {
  readme: string;
  start: string;
  end: string;
  body: string;
}

/** Every generated block. The simulator sets every key by a flag too, so its table is the flags'. */
export function generatedBlocks(): GeneratedBlock[] {
  return [
    ...Object.entries(CONFIG_TABLES).map(([readme, schema]) => ({
      readme,
      start: CONFIG_START,
      end: CONFIG_END,
      body: configTable(schema),
    })),
    { readme: 'simulator/README.md', start: '<!-- flags:start -->', end: '<!-- flags:end -->', body: flagTable(SIMULATOR_FLAGS) },
  ];
}

export const ROOT = join(__dirname, '..');

/** Writes `text` to `file` (relative to the repo) unless it is there already; says which. */
function writeIfChanged(file: string, text: string): void {
  const path = join(ROOT, file);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) {
    console.log(`${file}: up to date`);
  } else {
    writeFileSync(path, text);
    console.log(`${file}: regenerated`);
  }
}

function main(): void {
  for (const [file, { title, schema }] of Object.entries(SAMPLE_ENVS)) writeIfChanged(file, sampleEnv(schema, title));
  for (const block of generatedBlocks()) {
    const text = readFileSync(join(ROOT, block.readme), 'utf8');
    if (!text.includes(block.start) || !text.includes(block.end)) {
      console.error(`${block.readme}: no ${block.start} ... ${block.end} markers`);
      process.exitCode = 1;
      continue;
    }
    writeIfChanged(block.readme, replaceBlock(text, block.start, block.end, block.body));
  }
}

if (require.main === module) main();
