import { createLogger } from '../lib/log';
import { parseArgs, SIMULATOR_FLAGS } from './options';
import { runSimulation, type SimulationSummary } from './simulate';
import { usage } from './usage';

export { simulateFleet, runSimulation, type SimulationSummary, type FleetOptions, type RunHooks } from './simulate';
export { generateFleet, type FleetPlan } from './fleet';
export { parseArgs, resolveConfig, simulatorSchema, type SimulatorConfig } from './options';
export { toFleetPlan } from './plan';
export { encodePayload } from './payload';
export type { GroundTruthEvent } from '../schemas/ground-truth';
export type { Emission, SimReading } from './device';

/**
 * `iot-pipeline simulate`: config from flags and env (bad values: one ConfigError naming each),
 * then the fleet runs until --count or --duration is used up, or SIGINT/SIGTERM, after which it
 * waits for outstanding PUBACKs and disconnects.
 */
export async function run(argv: string[]): Promise<void> {
  const parsed = parseArgs(argv);
  if (parsed.help) {
    console.log(usage(SIMULATOR_FLAGS));
    return;
  }
  const log = createLogger('simulator');
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping: no new readings; waiting for outstanding PUBACKs (send again to force quit)');
    controller.abort();
    // A second signal gets the default behaviour: exit at once.
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let summary: SimulationSummary;
  try {
    summary = await runSimulation(parsed.config, { signal: controller.signal, log });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  const { publishedByDevice, ackedByDevice, ...totals } = summary;
  log.debug({ publishedByDevice, ackedByDevice }, 'per-device counts');
  log.info(totals, 'simulator finished');
  if (summary.failed > 0 || !summary.drained) process.exitCode = 1;
}
