import type { Report } from './report';

export interface Column {
  header: string;
  /** Numbers read best right-aligned. Default 'left'. */
  align?: 'left' | 'right';
}

/** Columns padded to their widest cell, two spaces apart, a dashed rule under the header; '(none)' for no rows. */
export function textTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  ')];
  if (rows.length === 0) out.push('(none)');
  else out.push(...rows.map(line));
  return out.join('\n');
}

/** A number with fixed decimals; '-' where there is no value. */
export function fixed(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? '-' : value.toFixed(digits);
}

/** UTC, to the second: '2026-01-02 03:04:05Z'. */
export function timestamp(value: Date | null | undefined): string {
  return value
    ? value
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z')
    : '-';
}

/** A silence as people say it: '12.5 min', '3.2 h', '2.1 d'. */
export function duration(minutes: number): string {
  if (minutes < 60) return `${minutes.toFixed(1)} min`;
  if (minutes < 24 * 60) return `${(minutes / 60).toFixed(1)} h`;
  return `${(minutes / (24 * 60)).toFixed(1)} d`;
}

const R = 'right' as const;

export function formatReport(report: Report): string {
  const { options: o, fleet } = report;
  const scope = o.deviceId === undefined ? '' : `, device ${o.deviceId}`;
  const sections = [
    `IoT analytics: last ${o.hours} h${scope} (generated ${timestamp(report.generatedAt)})\n` +
      `fleet: ${fleet.devices} devices, ${fleet.readings} readings, newest ${timestamp(fleet.lastReading)}; ` +
      `avg temperature ${fixed(fleet.temperatureAvg)}, humidity ${fixed(fleet.humidityAvg)}, battery ${fixed(fleet.batteryAvg)}`,
    `All devices summary\n${textTable(
      [
        { header: 'device' },
        { header: 'readings', align: R },
        { header: 'last seen' },
        { header: 'temp avg', align: R },
        { header: 'temp min', align: R },
        { header: 'temp max', align: R },
        { header: 'temp sd', align: R },
        { header: 'humidity avg', align: R },
        { header: 'battery avg', align: R },
        { header: 'battery min', align: R },
      ],
      report.devices.map((d) => [
        d.deviceId,
        String(d.readings),
        timestamp(d.lastSeen),
        fixed(d.temperature.avg),
        fixed(d.temperature.min),
        fixed(d.temperature.max),
        fixed(d.temperature.stddev),
        fixed(d.humidity.avg),
        fixed(d.battery.avg),
        fixed(d.battery.min),
      ]),
    )}`,
    `Temperature anomalies (|z| > ${o.zThreshold}; newest ${report.anomalies.anomalies.length} of ${report.anomalies.total})\n${textTable(
      [
        { header: 'time' },
        { header: 'device' },
        { header: 'temperature', align: R },
        { header: 'device mean', align: R },
        { header: 'stddev', align: R },
        { header: 'z', align: R },
      ],
      report.anomalies.anomalies.map((a) => [
        timestamp(a.time),
        a.deviceId,
        fixed(a.temperature),
        fixed(a.mean),
        fixed(a.stddev),
        fixed(a.zScore),
      ]),
    )}`,
    `Low battery devices (newest battery reading < ${o.batteryThreshold} %)\n${textTable(
      [{ header: 'device' }, { header: 'battery', align: R }, { header: 'at' }],
      report.lowBattery.map((d) => [d.deviceId, fixed(d.battery, 1), timestamp(d.time)]),
    )}`,
    `Inactive devices (no reading for ${o.inactiveMinutes} min)\n${textTable(
      [{ header: 'device' }, { header: 'last seen' }, { header: 'silent', align: R }],
      report.inactive.map((d) => [d.deviceId, timestamp(d.lastSeen), duration(d.silentMinutes)]),
    )}`,
  ];
  if (report.latest) {
    sections.push(
      `Latest readings of ${o.deviceId} (newest device time first)\n${textTable(
        [
          { header: 'time' },
          { header: 'firmware' },
          { header: 'temperature', align: R },
          { header: 'humidity', align: R },
          { header: 'battery', align: R },
        ],
        report.latest.map((r) => [timestamp(r.time), r.firmware ?? '-', fixed(r.temperature), fixed(r.humidity), fixed(r.battery, 1)]),
      )}`,
    );
  }
  return sections.join('\n\n');
}
