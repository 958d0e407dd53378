import { Reading } from '../schemas';
import { CopyBinaryWriter } from './copy-format';
import { encodeReading } from './rows';
import { telemetryTable } from './tables';

function reading(device: string, time: number, temperature: number): Reading {
  return { device_id: device, time, firmware: null, temperature, humidity: null, battery: 80, seq: null, ingested_at: 0 };
}

describe('COPY binary encoding', () => {
  it('encodes a reading: header, field count, exact int64 microseconds since 2000, NULLs, doubles, trailer', () => {
    const w = new CopyBinaryWriter();
    encodeReading(w, { ...reading('dév-1', 1732800000123456, 21.5), humidity: null });
    const data = Buffer.concat(w.finish());
    expect(data.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    let at = 19;
    expect(data.readInt16BE(at)).toBe(6);
    expect(data.readInt32BE((at += 2))).toBe(8);
    expect(data.readBigInt64BE((at += 4))).toBe(1732800000123456n - 946684800000000n);
    expect(data.readInt32BE((at += 8))).toBe(Buffer.byteLength('dév-1'));
    expect(data.subarray((at += 4), at + 6).toString('utf8')).toBe('dév-1');
    expect(data.readInt32BE((at += 6))).toBe(-1); // firmware
    expect(data.readInt32BE((at += 4))).toBe(8);
    expect(data.readDoubleBE((at += 4))).toBe(21.5);
    expect(data.readInt32BE((at += 8))).toBe(-1); // humidity
    expect(data.readDoubleBE((at += 8))).toBe(80);
    expect(data.readInt16BE((at += 8))).toBe(-1);
    expect(data.length).toBe(at + 2);
  });

  it('keeps times before 2000 exact and rows whole across 64 KiB chunks', () => {
    const w = new CopyBinaryWriter();
    for (let i = 0; i < 5000; i++) encodeReading(w, reading(`dev-${i}`, -1234567 - i, i));
    const chunks = w.finish();
    expect(chunks.length).toBeGreaterThan(1);
    const data = Buffer.concat(chunks);
    expect(data.readBigInt64BE(19 + 2 + 4)).toBe(-1234567n - 946684800000000n);
  });
});

describe('first of each identity', () => {
  it('keeps the first reading of each (device_id, time) in order, and returns the batch itself when all are distinct', () => {
    const batch = [reading('a', 1, 1), reading('b', 1, 2), reading('a', 2, 3)];
    expect(telemetryTable.distinct(batch)).toBe(batch);
    const dup = [...batch, reading('a', 1, 99), reading('c', 5, 4), reading('b', 1, 98)];
    expect(telemetryTable.distinct(dup).map((r) => r.temperature)).toEqual([1, 2, 3, 4]);
  });
});
