import { telemetryCopyRow } from './rows';
import { copyText } from './copy-format';

describe('COPY text encoding', () => {
  it('escapes the characters COPY treats specially', () => {
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyText(null)).toBe('\\N');
    expect(copyText('plain')).toBe('plain');
  });

  it('encodes a reading with its order, integer microseconds and NULLs', () => {
    const row = telemetryCopyRow(
      { device_id: 'dev-1', time: 1732800000123456, firmware: null, temperature: 21.5, humidity: null, battery: 80, seq: null, ingested_at: 0 },
      7,
    );
    expect(row).toBe('7\t1732800000123456\tdev-1\t\\N\t21.5\t\\N\t80\n');
  });
});
