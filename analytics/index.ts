import { createPool } from '../lib/postgres';
import { parseArgs, USAGE } from './args';
import { IoTAnalytics } from './analytics';
import { loadAnalyticsConfig } from './config';
import { formatReport } from './format';
import { buildReport } from './report';

export { IoTAnalytics } from './analytics';
export type * from './analytics';
export { InvalidArgumentError, SchemaMissingError } from './errors';
export { analyticsConfigSchema, loadAnalyticsConfig } from './config';
export type { AnalyticsConfig } from './config';
export { buildReport } from './report';
export type { Report, ReportOptions } from './report';
export { formatReport, textTable } from './format';
export { chooseSource, parseBucketWidth, ROLLUP_RULES } from './rollup';
export type { TelemetrySource } from './rollup';

/**
 * `iot-pipeline analytics`: the fleet report as text tables, or JSON with --json. A bad setting
 * throws ConfigError (the CLI prints it and exits 78); a database failure prints one line to
 * stderr and sets exit code 1.
 */
export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadAnalyticsConfig(args.overrides);
  const pool = createPool(config.postgres, 'iot-pipeline-analytics', 6);
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  try {
    const report = await buildReport(new IoTAnalytics(pool), { ...config.report, deviceId: args.deviceId });
    process.stdout.write(`${args.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  } catch (err) {
    const pg = config.postgres;
    process.stderr.write(`analytics failed on ${pg.user}@${pg.host}:${pg.port}/${pg.database}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await pool.end().catch(() => undefined);
  }
}
