/**
 * The figures of `npm start`'s live line. The bridge, writer and detector serve them on /metrics;
 * the simulator serves no metrics, so its figures come from its log (progress lines, then a
 * final summary). Its progress line comes once a second, so "published" can trail "in kafka"
 * by up to a second's readings. Pure: scraped text in, figures and lines out.
 */

/** What the simulator reported last: a progress line, or the summary it logs when it exits. */
export interface SimulatorReport {
  published: number;
  acked: number;
  /** Only in the summary: readings sent (duplicates excluded), failures, device-time span. */
  summary?: { readings: number; failed: number; firstTimestampMs: number | null; lastTimestampMs: number | null };
}

/** Every figure is undefined while its source does not answer (not started yet, or gone). */
export interface Figures {
  simulator?: SimulatorReport;
  /** Bridge: valid readings Kafka acknowledged, and messages dead-lettered. */
  produced?: number;
  bridgeRejected?: number;
  /** Writer: rows inserted into device_telemetry, identities already stored there; records dead-lettered (any topic). */
  inserted?: number;
  skipped?: number;
  writerRejected?: number;
  alerts?: number;
}

export interface Scrapes {
  simulatorLog?: string;
  bridge?: string;
  writer?: string;
  detector?: string;
}

/** Sum of the samples of `name` whose labels include every given label (0 when it has none yet). */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The newest report in the simulator's log: its JSON summary line or a plain progress line. */
export function simulatorReport(log: string): SimulatorReport | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    const s = line.includes('"simulator finished"') ? jsonObject(line) : undefined;
    if (s) {
      return {
        published: Number(s.published),
        acked: Number(s.acked),
        summary: {
          readings: Number(s.readings),
          failed: Number(s.failed),
          firstTimestampMs: s.firstTimestampMs,
          lastTimestampMs: s.lastTimestampMs,
        },
      };
    }
    const progress = /^published (\d+)\s+acked (\d+)/.exec(line);
    if (progress) return { published: Number(progress[1]), acked: Number(progress[2]) };
  }
  return undefined;
}

function jsonObject(line: string): Record<string, number | null> | undefined {
  try {
    return JSON.parse(line) as Record<string, number | null>;
  } catch {
    return undefined;
  }
}

export function figuresOf(scrapes: Scrapes): Figures {
  const { bridge, writer, detector, simulatorLog } = scrapes;
  const telemetry = { table: 'device_telemetry' };
  return {
    simulator: simulatorLog === undefined ? undefined : simulatorReport(simulatorLog),
    produced: bridge === undefined ? undefined : sumSamples(bridge, 'iot_bridge_readings_produced_total'),
    bridgeRejected: bridge === undefined ? undefined : sumSamples(bridge, 'iot_bridge_messages_rejected_total'),
    inserted: writer === undefined ? undefined : sumSamples(writer, 'iot_writer_rows_total', { ...telemetry, result: 'inserted' }),
    skipped: writer === undefined ? undefined : sumSamples(writer, 'iot_writer_rows_total', { ...telemetry, result: 'skipped' }),
    writerRejected: writer === undefined ? undefined : sumSamples(writer, 'iot_writer_rejected_total'),
    alerts: detector === undefined ? undefined : sumSamples(detector, 'iot_detector_alerts_total'),
  };
}

/**
 * `published 12000 (1000/s) | in kafka 12000 | written 11950 | alerts 3 | dlq 0`; "-" for a
 * figure whose source does not answer. The rate is over the last tick, so it shows what is
 * happening now. The alerts field is left out when no detector runs.
 */
export function liveLine(now: Figures, before: Figures | undefined, seconds: number, withAlerts: boolean): string {
  const show = (n: number | undefined) => (n === undefined ? '-' : String(n));
  const published = now.simulator?.published;
  const earlier = before?.simulator?.published;
  const rate =
    published !== undefined && earlier !== undefined ? ` (${Math.round((published - earlier) / Math.max(seconds, 1e-9))}/s)` : '';
  const skipped = now.skipped ? ` (${now.skipped} already stored)` : '';
  const dlq =
    now.bridgeRejected === undefined && now.writerRejected === undefined
      ? undefined
      : (now.bridgeRejected ?? 0) + (now.writerRejected ?? 0);
  return [
    `published ${show(published)}${rate}`,
    `in kafka ${show(now.produced)}`,
    `written ${show(now.inserted)}${skipped}`,
    ...(withAlerts ? [`alerts ${show(now.alerts)}`] : []),
    `dlq ${show(dlq)}`,
  ].join(' | ');
}

/**
 * A graceful stop waits, once the simulator has stopped, until the pipeline is drained: the
 * bridge has taken every message the broker acknowledged to the simulator (else the rest waits
 * in the bridge's MQTT session until its next start), and the writer has stored every reading
 * the bridge put into Kafka. Checked while both still run: a stopped service has no figures.
 */
export function drained(f: Figures): boolean {
  if (f.simulator === undefined || f.produced === undefined || f.inserted === undefined) return false;
  const bridgeDone = f.produced + (f.bridgeRejected ?? 0) >= f.simulator.acked;
  const writerDone = f.inserted + (f.skipped ?? 0) + (f.writerRejected ?? 0) >= f.produced;
  return bridgeDone && writerDone;
}
