#!/usr/bin/env node
import { ConfigError } from '../lib/errors';

/** One entry point for every part, so one image or install serves every service. */
const commands: Record<string, { about: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  bridge: { about: 'MQTT → validate → Avro → Kafka (invalid → DLQ)', load: () => import('../bridge') },
  writer: { about: 'Kafka consumer group → COPY batches into TimescaleDB', load: () => import('../writer') },
  detector: { about: 'Kafka consumer group → sliding windows → alerts topic', load: () => import('../detector') },
  alerts: { about: 'tail the alerts topic (--json, --from-beginning)', load: () => import('./alerts') },
  simulate: { about: 'a fleet of virtual devices publishing over MQTT', load: () => import('../simulator') },
  migrate: { about: 'create or upgrade the database schema', load: () => import('../db') },
  topics: { about: 'create the Kafka topics and register their schemas', load: () => import('./topics') },
  analytics: { about: 'the fleet report: device statistics, anomalies, low battery', load: () => import('../analytics') },
  backtest: { about: 'the detector over Kafka history with other settings, against the live alerts', load: () => import('./backtest') },
  notify: { about: 'POST every alert to a webhook (--webhook, --format json|slack), at least once', load: () => import('../notify') },
  replay: { about: 'refill the database from Kafka over a time range (--from, --to)', load: () => import('./replay') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'usage: iot-pipeline <command> [options]',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(name && name !== '--help' ? `unknown command: ${name}\n\n${usage()}` : usage());
    process.exitCode = name && name !== '--help' ? 2 : 0;
    return;
  }
  await (await command.load()).run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Configuration mistakes are the operator's to fix: one clear message, no stack.
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(err instanceof ConfigError ? 78 : 1);
});
