import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Admin, Kafka } from 'kafkajs';
import { AvroCodec, createRegistry, DecodeError } from '../lib/avro';
import { kafkaSchema, loadConfig, registrySchema } from '../lib/config';
import { ConfigError } from '../lib/errors';
import { offsetRanges, PartitionSpan, RangeNotRetainedError, spansForTimeRange } from '../lib/kafka-history';
import { readRanges } from '../lib/kafka-range';
import { createKafka } from '../lib/kafka';
import { createLogger, Logger } from '../lib/log';
import { Alert, alertSchemaText, Reading, telemetrySchemaText } from '../schemas';
import { compareAlerts, inRange, LoggedReading, mergeByTime, runBacktest, scoreAgainstTruth, truthInRange } from '../detector/backtest';
import { backtestJson, BacktestReport, changedSettings, formatBacktest } from '../detector/backtest-report';
import { detectorServiceSchema } from '../detector/config';
import { Detector } from '../detector/detector';
import { checkDetectorSettings, defaultDetectorSettings, detectorSchema } from '../detector/settings';
import { iso, parseTimeRange, TimeRange } from './time-range';

const backtestSchema = {
  kafka: kafkaSchema,
  registry: registrySchema,
  service: { tickMs: detectorServiceSchema.service.tickMs },
  detector: detectorSchema,
};

/** Every detector setting as a flag: zThreshold → --z-threshold. */
const SETTING_FLAGS = Object.fromEntries(
  Object.keys(detectorSchema).map((key) => [key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), key]),
);

export const USAGE = `usage: iot-pipeline backtest --from <time> [--to <time>] [--<detector setting> <value> ...]
                            [--ground-truth <file.jsonl>] [--limit <n>] [--json]

Runs the detector over the readings Kafka holds for [--from, --to) with the given settings,
publishing nothing, and compares the alerts it would raise with those the live detector raised.
  --from, --to      an ISO 8601 instant, epoch ms, or a duration ago (2h, 90m); --to defaults to now
  --ground-truth    the simulator's ground-truth file for the range: recall and unexplained alerts of both
  --limit           alerts listed per side, default 20
  --json            one JSON document
detector settings (default from the environment, as the detector reads it, then the defaults):
  ${Object.keys(SETTING_FLAGS)
    .map((f) => `--${f}`)
    .join(' ')}`;

/**
 * `iot-pipeline backtest`: how an operator chooses a threshold for a fleet. Reads the history,
 * with a warm-up of one replay horizon before --from (the same reach a restarted detector
 * replays), through throwaway consumer groups that commit nothing; holds it in memory, merged by
 * Kafka time, and hands it to detector/backtest.ts.
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
      limit: { type: 'string' },
      'ground-truth': { type: 'string' },
      ...Object.fromEntries(Object.keys(SETTING_FLAGS).map((f) => [f, { type: 'string' as const }])),
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const flags = values as Record<string, string | boolean | undefined>;
  const range = parseTimeRange(values.from, values.to, Date.now());
  const overrides = Object.fromEntries(Object.entries(SETTING_FLAGS).map(([flag, key]) => [`detector.${key}`, flags[flag]]));
  const config = loadConfig(backtestSchema, overrides);
  const problems = checkDetectorSettings(config.detector);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 0) problems.push({ key: '--limit', message: 'must be a whole number' });
  let truthText: string | undefined;
  if (values['ground-truth'] !== undefined) {
    try {
      truthText = readFileSync(values['ground-truth'], 'utf8');
    } catch (err) {
      problems.push({
        key: '--ground-truth',
        message: `cannot read ${values['ground-truth']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const settings = config.detector;
  const logger = createLogger('backtest', process.env.LOG_LEVEL ?? 'warn');
  const kafka = createKafka(config.kafka, logger, 'backtest');
  const admin = kafka.admin();
  const registry = createRegistry(config.registry.url);
  await admin.connect();
  try {
    const warmupMs = new Detector(settings).replayHorizonUs / 1000 + settings.maxFutureSeconds * 1000;
    const readingSpans = await historySpans(kafka, admin, config.kafka.telemetryTopic, range, warmupMs, logger);
    const alertSpans = await spansForTimeRange(kafka, admin, config.kafka.alertsTopic, range.fromMs, Date.now() + 1);

    const readingCodec = new AvroCodec<Reading>(registry, telemetrySchemaText);
    const byPartition = new Map<number, LoggedReading[]>();
    await readRanges(kafka, admin, offsetRanges(config.kafka.telemetryTopic, readingSpans), async (_t, partition, messages) => {
      await readingCodec.prepare(messages.map((m) => m.value));
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      for (const m of messages) {
        const reading = decodeOrSkip(readingCodec, m.value);
        if (reading) list.push({ reading, timestampMs: Number(m.timestamp) });
      }
    });
    const history = mergeByTime([...byPartition.values()]);

    const alertCodec = new AvroCodec<Alert>(registry, alertSchemaText);
    const live: Alert[] = [];
    await readRanges(kafka, admin, offsetRanges(config.kafka.alertsTopic, alertSpans), async (_t, _p, messages) => {
      await alertCodec.prepare(messages.map((m) => m.value));
      for (const m of messages) {
        const alert = decodeOrSkip(alertCodec, m.value);
        if (alert) live.push(alert);
      }
    });
    const liveInRange = inRange(live, range);

    const candidate = runBacktest(history, settings, range, config.service.tickMs);
    const report: BacktestReport = {
      topic: config.kafka.telemetryTopic,
      fromMs: range.fromMs,
      toMs: range.toMs,
      readings: history.length,
      warmupReadings: history.filter((r) => r.timestampMs < range.fromMs).length,
      changed: changedSettings(settings, defaultDetectorSettings()),
      liveAlerts: liveInRange.length,
      comparison: compareAlerts(candidate, liveInRange),
    };
    if (truthText !== undefined) {
      const events = truthInRange(truthText, range);
      report.truth = {
        file: values['ground-truth']!,
        events: events.length,
        new: scoreAgainstTruth(candidate, events, settings),
        old: scoreAgainstTruth(liveInRange, events, settings),
      };
    }
    console.log(values.json ? backtestJson(report) : formatBacktest(report, limit));
  } catch (err) {
    if (!(err instanceof RangeNotRetainedError)) throw err;
    console.error(err.message);
    process.exitCode = 3;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The readings' spans, warm-up included. When Kafka no longer holds the whole warm-up but does
 * hold the range, the warm-up is shortened to what is there (said on stderr: the first minutes'
 * windows are thinner than the live detector's were); a range not held is refused.
 */
async function historySpans(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  range: TimeRange,
  warmupMs: number,
  logger: Logger,
): Promise<PartitionSpan[]> {
  try {
    return await spansForTimeRange(kafka, admin, topic, range.fromMs - warmupMs, range.toMs);
  } catch (err) {
    if (!(err instanceof RangeNotRetainedError) || err.retainedFromMs > range.fromMs) throw err;
    logger.debug({ retainedFrom: err.retainedFromMs }, 'warm-up shortened');
    process.stderr.write(
      `warm-up shortened: Kafka retains ${topic} from ${iso(err.retainedFromMs)} only; alerts early in the range may differ from the live detector's\n`,
    );
    return spansForTimeRange(kafka, admin, topic, err.retainedFromMs, range.toMs);
  }
}

function decodeOrSkip<T>(codec: AvroCodec<T>, value: Buffer | null): T | undefined {
  try {
    return codec.decode(value);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return undefined;
  }
}
