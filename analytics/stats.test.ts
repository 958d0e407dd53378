import { InvalidArgumentError } from './errors';
import { positive, positiveInt, zScore } from './stats';

describe('zScore', () => {
  it('is signed: above the mean positive, below negative', () => {
    expect(zScore(26, 20, 2)).toBe(3);
    expect(zScore(17, 20, 2)).toBe(-1.5);
    expect(zScore(20, 20, 2)).toBe(0);
  });
});

describe('argument checks', () => {
  it('accept positive values and return them', () => {
    expect(positive('hours', 0.5)).toBe(0.5);
    expect(positiveInt('limit', 3)).toBe(3);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuse %p with a typed error naming the argument', (v) => {
    expect(() => positive('hours', v)).toThrow(InvalidArgumentError);
    expect(() => positive('hours', v)).toThrow(/^hours: must be a positive number/);
  });

  it('refuse fractions where an integer is needed', () => {
    expect(() => positiveInt('limit', 2.5)).toThrow(/limit: must be a positive integer/);
  });
});
