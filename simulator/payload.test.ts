import fc from 'fast-check';
import type { SimReading } from './device';
import { encodePayload, formatTimestamp, topicFor } from './payload';

const reading: SimReading = {
  device_id: 'device-001',
  firmware: '1.0.0',
  temperature: 25.5,
  humidity: 60,
  battery: 85,
  timeMs: 1732800000123,
  seq: 7,
};

describe('payload', () => {
  it('is the device JSON, fields in the order of the example payload', () => {
    expect(JSON.parse(encodePayload(reading, 's.ms', false))).toEqual({
      device_id: 'device-001',
      firmware: '1.0.0',
      temperature: 25.5,
      humidity: 60,
      battery: 85,
      timestamp: 1732800000.123,
    });
    expect(Object.keys(JSON.parse(encodePayload(reading, 's.ms', true)))).toEqual([
      'device_id',
      'firmware',
      'temperature',
      'humidity',
      'battery',
      'timestamp',
      'seq',
    ]);
  });

  it('writes the timestamp in each format', () => {
    expect(formatTimestamp(reading.timeMs, 's.ms')).toBe(1732800000.123);
    expect(formatTimestamp(reading.timeMs, 's')).toBe(1732800000);
    expect(formatTimestamp(reading.timeMs, 'ms')).toBe(1732800000123);
    expect(formatTimestamp(reading.timeMs, 'iso')).toBe('2024-11-28T13:20:00.123Z');
    expect(JSON.parse(encodePayload(reading, 'iso', false)).timestamp).toBe('2024-11-28T13:20:00.123Z');
  });

  it('keeps millisecond timestamps exact through fractional seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000_000_000_000, max: 4_000_000_000_000 }), (ms) => {
        const ts = JSON.parse(encodePayload({ ...reading, timeMs: ms }, 's.ms', false)).timestamp as number;
        expect(Math.round(ts * 1000)).toBe(ms);
      }),
    );
  });

  it('matches JSON.stringify for any id', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (id, firmware) => {
        const r = { ...reading, device_id: id, firmware };
        expect(JSON.parse(encodePayload(r, 'ms', true))).toEqual({
          device_id: id,
          firmware,
          temperature: 25.5,
          humidity: 60,
          battery: 85,
          timestamp: r.timeMs,
          seq: 7,
        });
      }),
    );
  });

  it("picks the shared topic or the device's own", () => {
    expect(topicFor('device-001', 'portfolio/telemetry', false)).toBe('portfolio/telemetry');
    expect(topicFor('device-001', 'portfolio/telemetry', true)).toBe('devices/device-001/telemetry');
  });
});
