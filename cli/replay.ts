import { parseArgs } from 'node:util';
import { AvroCodec, createRegistry, DecodeError } from '../lib/avro';
import { kafkaSchema, loadConfig, postgresSchema, registrySchema } from '../lib/config';
import { ConfigError, isRetriable } from '../lib/errors';
import { offsetRanges, RangeNotRetainedError, spansForTimeRange } from '../lib/kafka-history';
import { readRanges } from '../lib/kafka-range';
import { createKafka } from '../lib/kafka';
import { createLogger, Logger } from '../lib/log';
import { createPool } from '../lib/postgres';
import { Reading, telemetrySchemaText } from '../schemas';
import { writeBatch } from '../writer/store';
import { telemetryTable } from '../writer/tables';
import { progressBar, progressLine, rateAndEta, ReplayCounts } from './progress';
import { iso, parseTimeRange } from './time-range';

const replaySchema = { kafka: kafkaSchema, registry: registrySchema, postgres: postgresSchema };

export const USAGE = `usage: iot-pipeline replay --from <time> [--to <time>] [--json]

Re-delivers the readings whose Kafka timestamps fall in [--from, --to) into device_telemetry,
through the writer's own identity rules: rows already there are counted, not doubled.
  --from   required: an ISO 8601 instant (2026-12-01T10:00:00Z), epoch ms, or a duration ago (2h, 90m)
  --to     default now; the same forms
  --json   a JSON summary on stdout (progress still goes to stderr)`;

/** Longest a batch keeps being retried while the database is away (a restart, a failover). */
const RETRY_DEADLINE_MS = 120_000;
/** How often a plain progress line is printed when stderr is not a terminal. */
const LINE_EVERY_MS = 5000;

/**
 * `iot-pipeline replay`: refill the database from the Kafka log after a bad restore or a lost
 * table. Reads the range with a throwaway consumer group that commits nothing (lib/kafka-range),
 * so the writers' group, and the running pipeline, are untouched; a reading the writers store at
 * the same moment is simply found present by one of the two.
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const range = parseTimeRange(values.from, values.to, Date.now());
  const config = loadConfig(replaySchema);
  const logger = createLogger('replay', process.env.LOG_LEVEL ?? 'warn');
  const topic = config.kafka.telemetryTopic;
  const kafka = createKafka(config.kafka, logger, 'replay');
  const admin = kafka.admin();
  const pool = createPool(config.postgres, 'iot-replay', 2, logger);
  await admin.connect();
  try {
    let spans;
    try {
      spans = await spansForTimeRange(kafka, admin, topic, range.fromMs, range.toMs);
    } catch (err) {
      if (!(err instanceof RangeNotRetainedError)) throw err;
      if (values.json)
        console.log(JSON.stringify({ error: 'range not retained', message: err.message, retainedFrom: iso(err.retainedFromMs) }));
      else console.error(err.message);
      process.exitCode = 3;
      return;
    }
    await pool.query('SELECT 1 FROM device_telemetry LIMIT 0').catch((err: Error) => {
      throw new ConfigError([
        { key: 'POSTGRES_*', message: `cannot use device_telemetry (${err.message}); run iot-pipeline migrate first?` },
      ]);
    });
    const ranges = offsetRanges(topic, spans);
    const counts: ReplayCounts = {
      records: 0,
      total: ranges.reduce((n, r) => n + Number(r.to - r.from), 0),
      inserted: 0,
      present: 0,
      undecodable: 0,
    };
    const codec = new AvroCodec<Reading>(createRegistry(config.registry.url), telemetrySchemaText);
    const started = Date.now();
    const progress = startProgress(counts, started);
    try {
      await readRanges(kafka, admin, ranges, async (_topic, _partition, messages) => {
        await codec.prepare(messages.map((m) => m.value));
        const readings: Reading[] = [];
        for (const m of messages) {
          try {
            readings.push(codec.decode(m.value));
          } catch (err) {
            if (!(err instanceof DecodeError)) throw err;
            counts.undecodable++;
          }
        }
        const result = await withRetries(() => writeBatch(pool, telemetryTable, readings), logger);
        counts.inserted += result.inserted;
        counts.present += result.skipped;
        counts.records += messages.length;
      });
    } finally {
      progress.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    const summary = {
      topic,
      from: iso(range.fromMs),
      to: iso(range.toMs),
      partitions: spans.map((s) => ({ partition: s.partition, fromOffset: s.from.toString(), toOffset: s.to.toString() })),
      records: counts.records,
      inserted: counts.inserted,
      alreadyPresent: counts.present,
      undecodable: counts.undecodable,
      seconds,
      perSecond: Math.round(rateAndEta(counts, seconds * 1000).perSecond),
    };
    if (values.json) {
      console.log(JSON.stringify(summary));
    } else {
      console.log(
        `replayed ${topic} ${summary.from} .. ${summary.to}: ${counts.records} records from ${spans.length} partitions, ` +
          `${counts.inserted} rows new, ${counts.present} already present` +
          (counts.undecodable > 0 ? `, ${counts.undecodable} undecodable (skipped)` : '') +
          ` in ${seconds.toFixed(1)} s`,
      );
    }
  } finally {
    await Promise.all([admin.disconnect(), pool.end()]);
  }
}

/** A bar rewritten in place on a terminal, else a plain line every few seconds; both on stderr. */
function startProgress(counts: ReplayCounts, started: number): { stop(): void } {
  const tty = process.stderr.isTTY === true;
  const draw = () => {
    const elapsed = Date.now() - started;
    process.stderr.write(tty ? `\r${progressBar(counts, elapsed)}\x1b[K` : `${progressLine(counts, elapsed)}\n`);
  };
  const timer = setInterval(draw, tty ? 200 : LINE_EVERY_MS);
  return {
    stop() {
      clearInterval(timer);
      draw();
      if (tty) process.stderr.write('\n');
    },
  };
}

/** Retries a retriable failure (the database restarting) with back-off, up to RETRY_DEADLINE_MS. */
async function withRetries<T>(attempt: () => Promise<T>, logger: Logger): Promise<T> {
  const deadline = Date.now() + RETRY_DEADLINE_MS;
  let backoff = 200;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRetriable(err) || Date.now() > deadline) throw err;
      logger.warn({ err: (err as Error).message, retryInMs: backoff }, 'writing a replayed batch failed, retrying');
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  }
}
