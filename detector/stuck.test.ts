import { StuckRun, observeStuck, type StuckRule } from './stuck';

const S = 1_000_000;
const rule: StuckRule = { readings: 5, maxSpanUs: 900 * S };

function feed(run: StuckRun, values: number[], stepUs = 5 * S): number[] {
  const completed: number[] = [];
  values.forEach((v, i) => {
    if (observeStuck(run, i * stepUs, v, rule)) completed.push(i);
  });
  return completed;
}

describe('stuck-sensor runs', () => {
  it('completes once, at the reading that makes the run as long as the rule', () => {
    expect(feed(new StuckRun(), [20.1, 20.3, 21, 21, 21, 21, 21, 21, 21, 21])).toEqual([6]);
  });

  it('starts over when the value moves, so a second run is a second completion', () => {
    expect(feed(new StuckRun(), [7, 7, 7, 7, 7, 8, 8, 8, 8, 8])).toEqual([4, 9]);
  });

  it('does not complete a run that takes longer than the window', () => {
    expect(feed(new StuckRun(), [3, 3, 3, 3, 3, 3], 300 * S)).toEqual([]);
  });

  it('is off with readings 0', () => {
    const run = new StuckRun();
    const off = { readings: 0, maxSpanUs: rule.maxSpanUs };
    expect([1, 1, 1, 1, 1, 1].some((v, i) => observeStuck(run, i * S, v, off))).toBe(false);
  });
});
