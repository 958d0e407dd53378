import type { Report } from './report';
import { duration, fixed, formatReport, textTable, timestamp } from './format';

describe('textTable', () => {
  it('pads every column to its widest cell and right-aligns numbers', () => {
    const text = textTable(
      [{ header: 'device' }, { header: 'readings', align: 'right' }],
      [
        ['device-001', '7'],
        ['d2', '12345678901'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'device         readings',
      '----------  -----------',
      'device-001            7',
      'd2          12345678901',
    ]);
  });

  it("says '(none)' under the header when there are no rows", () => {
    expect(textTable([{ header: 'device' }], []).split('\n')).toEqual(['device', '------', '(none)']);
  });
});

describe('cells', () => {
  it('show missing values as a dash', () => {
    expect(fixed(null)).toBe('-');
    expect(fixed(21.456)).toBe('21.46');
    expect(fixed(5, 1)).toBe('5.0');
    expect(timestamp(null)).toBe('-');
  });

  it('show times in UTC to the second', () => {
    expect(timestamp(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02 03:04:05Z');
  });

  it.each([
    [12.54, '12.5 min'],
    [180, '3.0 h'],
    [3 * 24 * 60, '3.0 d'],
  ])('show a silence of %p minutes as %p', (minutes, text) => {
    expect(duration(minutes)).toBe(text);
  });
});

describe('formatReport', () => {
  const at = new Date('2026-01-02T03:04:05Z');
  const metric = (avg: number | null) => ({ avg, min: avg, max: avg, stddev: null, count: avg === null ? 0 : 1 });
  const report: Report = {
    generatedAt: at,
    options: { hours: 24, zThreshold: 2, batteryThreshold: 20, inactiveMinutes: 10, anomalyLimit: 20, deviceId: 'device-001' },
    fleet: { devices: 1, readings: 1, firstReading: at, lastReading: at, temperatureAvg: 21, humidityAvg: 50, batteryAvg: 15 },
    devices: [
      {
        deviceId: 'device-001',
        readings: 1,
        firstSeen: at,
        lastSeen: at,
        temperature: metric(21),
        humidity: metric(50),
        battery: metric(15),
      },
    ],
    anomalies: {
      total: 7,
      anomalies: [
        {
          time: at,
          deviceId: 'device-001',
          firmware: '1.0.0',
          temperature: 80,
          humidity: 50,
          battery: 15,
          mean: 21,
          stddev: 2,
          zScore: 29.5,
        },
      ],
    },
    lowBattery: [{ deviceId: 'device-001', battery: 15, time: at }],
    inactive: [],
    latest: [{ time: at, deviceId: 'device-001', firmware: null, temperature: null, humidity: 50, battery: 15 }],
  };
  const text = formatReport(report);

  it('has the report sections, each a table', () => {
    const titles = text.split('\n\n').map((s) => s.split('\n')[0]);
    expect(titles).toEqual([
      'IoT analytics: last 24 h, device device-001 (generated 2026-01-02 03:04:05Z)',
      'All devices summary',
      'Temperature anomalies (|z| > 2; newest 1 of 7)',
      'Low battery devices (newest battery reading < 20 %)',
      'Inactive devices (no reading for 10 min)',
      'Latest readings of device-001 (newest device time first)',
    ]);
  });

  it('puts the values under their headers', () => {
    const section = text.split('\n\n')[2].split('\n');
    const row = section[3];
    expect(row.length).toBe(section[1].length); // the right-aligned z column ends under its header
    expect(row).toMatch(/^2026-01-02 03:04:05Z {2}device-001 +80\.00 +21\.00 +2\.00 +29\.50$/);
    expect(text).toContain('(none)'); // no inactive devices
    expect(text).toMatch(/2026-01-02 03:04:05Z {2}- +- +50\.00 +15\.0/); // a reading without firmware or temperature
  });
});
