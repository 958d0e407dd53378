import { ConfigError } from '../lib/errors';
import { parseInstant, parseTimeRange } from './time-range';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('parseInstant', () => {
  it.each([
    ['2026-12-01T10:00:00Z', Date.parse('2026-12-01T10:00:00Z')],
    ['2026-12-01T10:00:00.250+01:00', Date.parse('2026-12-01T09:00:00.250Z')],
    ['2026-12-01', Date.parse('2026-12-01T00:00:00Z')],
    ['1732800000123', 1732800000123],
    ['now', NOW],
    ['2h', NOW - 2 * 3600_000],
    ['1h30m', NOW - 90 * 60_000],
    ['7d', NOW - 7 * 86_400_000],
  ])('reads %s', (text, ms) => expect(parseInstant(text, NOW)).toBe(ms));

  it.each(['yesterday', '2026-12-01T10:00:00', '2h ago', '-2h', '', '12345678901234'])('refuses %j', (text) => {
    expect(parseInstant(text, NOW)).toBeNaN();
  });
});

describe('parseTimeRange', () => {
  it('defaults --to to now', () => {
    expect(parseTimeRange('1h', undefined, NOW)).toEqual({ fromMs: NOW - 3600_000, toMs: NOW });
  });

  it('names every bad flag at once', () => {
    let err: unknown;
    try {
      parseTimeRange('tuesday', 'later', NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).keys).toEqual(['--from', '--to']);
    expect((err as Error).message).toMatch(/cannot read "tuesday"/);
  });

  it('refuses a missing --from, an empty range and a future start', () => {
    expect(() => parseTimeRange(undefined, undefined, NOW)).toThrow(/--from: is required/);
    expect(() => parseTimeRange('1h', '2h', NOW)).toThrow(/--to: .* is not after --from/);
    expect(() => parseTimeRange(String(NOW + 1000), String(NOW + 2000), NOW)).toThrow(/in the future/);
  });
});
