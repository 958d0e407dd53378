/**
 * The live line of `npm start` (deploy/native/start-all.sh runs this; the figures are in
 * live.ts). Every second it scrapes the services' /metrics and the simulator's log and prints
 * one line. With --drain (a graceful stop, after the simulator has stopped) it waits until the
 * bridge and the writer have caught up, then counts the simulator's readings in device_telemetry.
 *
 *   tsx cli/watch.ts --simulator-log F --bridge PORT --writer PORT [--detector PORT] [--drain [--timeout S]]
 */
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig, postgresSchema } from '../lib/config';
import { createPool } from '../lib/postgres';
import { resolveConfig } from '../simulator/options';
import { drained, Figures, figuresOf, liveLine, SimulatorReport } from './live';

const { values } = parseArgs({
  options: {
    'simulator-log': { type: 'string' },
    bridge: { type: 'string' },
    writer: { type: 'string' },
    detector: { type: 'string' },
    drain: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '60' },
  },
});

async function scrape(port: string | undefined): Promise<string | undefined> {
  if (port === undefined) return undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(900) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** The end of a log that grows all the time; a line cut by the window is dropped. */
async function tail(path: string | undefined, bytes = 65536): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    const file = await open(path);
    try {
      const { size } = await file.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      await file.read(buffer, 0, buffer.length, start);
      const text = buffer.toString();
      return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

async function figures(): Promise<Figures> {
  const [simulatorLog, bridge, writer, detector] = await Promise.all([
    tail(values['simulator-log']),
    scrape(values.bridge),
    scrape(values.writer),
    scrape(values.detector),
  ]);
  return figuresOf({ simulatorLog, bridge, writer, detector });
}

/** On a terminal the line is rewritten in place, as the simulator's progress line is. */
const tty = process.stdout.isTTY === true;
const print = (line: string, final: boolean) => process.stdout.write(tty ? `\r${line}\x1b[K${final ? '\n' : ''}` : `${line}\n`);
const endLine = () => {
  if (tty) process.stdout.write('\n');
};

/** Rows of the simulator's devices inside its device-time span, against what it sent. */
async function checkRows(report: SimulatorReport | undefined): Promise<boolean> {
  const span = report?.summary;
  if (!span || span.firstTimestampMs === null || span.lastTimestampMs === null) {
    console.log('device_telemetry: not checked (the simulator left no summary in its log)');
    return false;
  }
  const prefix = resolveConfig({}, process.env).fleet.idPrefix;
  const pool = createPool(loadConfig({ postgres: postgresSchema }).postgres, 'iot-start-all', 1);
  try {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM device_telemetry
        WHERE left(device_id, length($1)) = $1
          AND time >= timestamptz 'epoch' + $2::bigint * interval '1 millisecond'
          AND time <  timestamptz 'epoch' + ($3::bigint + 1) * interval '1 millisecond'`,
      [prefix, span.firstTimestampMs, span.lastTimestampMs],
    );
    const stored = rows[0].n;
    const from = new Date(span.firstTimestampMs).toISOString();
    const to = new Date(span.lastTimestampMs).toISOString();
    const ok = stored === span.readings && span.failed === 0 && report!.acked === report!.published;
    console.log(
      `device_telemetry: ${stored} rows of ${prefix}* between ${from} and ${to}; the simulator sent ${span.readings} readings ` +
        `(${report!.acked} of ${report!.published} publishes acknowledged)${ok ? ' — all stored' : ' — MISMATCH'}`,
    );
    return ok;
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  const withAlerts = values.detector !== undefined;
  const deadline = Date.now() + Number(values.timeout) * 1000;
  let before: Figures | undefined;
  let last = Date.now();
  for (;;) {
    const now = await figures();
    const seconds = (Date.now() - last) / 1000;
    last = Date.now();
    const done = values.drain && drained(now);
    print(liveLine(now, before, seconds, withAlerts), done);
    if (done) {
      if (!(await checkRows(now.simulator))) process.exitCode = 1;
      return;
    }
    if (values.drain && Date.now() > deadline) {
      endLine();
      console.log(
        `not drained after ${values.timeout} s; stopping anyway. Nothing is lost: what the bridge has not taken ` +
          'waits in its MQTT session, what the writer has not stored waits in Kafka, for the next start',
      );
      process.exitCode = 1;
      return;
    }
    before = now;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// The live mode runs until start-all.sh stops it; finish the line so its messages start on a new one.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    endLine();
    process.exit(0);
  });
}
main().catch((err: unknown) => {
  endLine();
  console.error(err);
  process.exit(1);
});
