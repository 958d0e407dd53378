import { InvalidArgumentError } from './errors';
import { assertBucketCount, chooseSource, MAX_BUCKETS, parseBucketWidth, ruleFor } from './rollup';

describe('parseBucketWidth', () => {
  it.each([
    ['5 minutes', 300],
    ['1 hour', 3600],
    ['90 minutes', 5400],
    ['1 day 6 hours', 108000],
    ['2 weeks', 1209600],
    ['1 month', 2592000],
    ['30s', 30],
  ])('accepts %p (%d s)', (text, seconds) => {
    expect(parseBucketWidth(text)).toEqual({ text, seconds });
  });

  it.each(["1 hour'; DROP TABLE device_telemetry; --", '5 m', 'hourly', '', '0 minutes', '-5 minutes'])(
    'refuses %p with a typed error naming the argument',
    (text) => {
      expect(() => parseBucketWidth(text)).toThrow(InvalidArgumentError);
      expect(() => parseBucketWidth(text)).toThrow(/^bucket: must be a positive interval/);
    },
  );

  it('refuses widths that mix months with a fixed length, as time_bucket does', () => {
    expect(() => parseBucketWidth('1 month 2 days')).toThrow(/not a mix/);
    expect(() => parseBucketWidth('1.5 months')).toThrow(/not a mix/);
    expect(parseBucketWidth('1 year 2 months').seconds).toBeGreaterThan(0);
  });
});

describe('assertBucketCount', () => {
  it('allows up to MAX_BUCKETS buckets per device, refuses more', () => {
    const minute = parseBucketWidth('1 minute');
    expect(() => assertBucketCount(minute, MAX_BUCKETS / 60)).not.toThrow();
    expect(() => assertBucketCount(minute, MAX_BUCKETS / 60 + 1)).toThrow(/choose a wider bucket/);
  });
});

describe('the rollup rule', () => {
  const w = parseBucketWidth;

  it.each([
    ['1 hour', 48, 'device_telemetry_1h'],
    ['1 day', 24 * 30, 'device_telemetry_1h'],
    ['1 month', 24 * 365, 'device_telemetry_1h'],
    ['1 hour', 24, 'device_telemetry_1h'],
    ['1 hour', 1, 'device_telemetry'], // not more than 1 h: few raw rows
    ['90 minutes', 48, 'device_telemetry_1m'], // 1-hour buckets would straddle 90-minute ones
    ['5 minutes', 6, 'device_telemetry_1m'],
    ['5 minutes', 1, 'device_telemetry'],
    ['30 seconds', 48, 'device_telemetry'],
    ['90 seconds', 48, 'device_telemetry'],
  ])('%p buckets over %d h read %s, on either engine', (width, hours, source) => {
    expect(chooseSource(w(width), hours)).toBe(source);
  });

  it('refuses a forced rollup that cannot serve the width', () => {
    expect(ruleFor('device_telemetry_1m', w('5 minutes')).bucketSeconds).toBe(60);
    expect(() => ruleFor('device_telemetry_1h', w('90 minutes'))).toThrow(/multiple of 3600 s/);
  });
});
