import { distProblem } from './dist';

describe('distProblem', () => {
  const pair = (source: string, sourceMs: number, outputMs: number | undefined) => ({ source, sourceMs, outputMs });

  it('is nothing when every output is at least as new as its source', () => {
    expect(distProblem([pair('a.ts', 10, 10), pair('b/c.ts', 5, 20)])).toBeUndefined();
  });

  it('says dist/ is missing, lacks outputs, or is stale, naming the files', () => {
    expect(distProblem([pair('a.ts', 10, undefined), pair('b.ts', 10, undefined)])).toBe('dist/ is missing');
    expect(distProblem([pair('a.ts', 10, 11), pair('new.ts', 10, undefined)])).toBe('dist/ lacks the output of new.ts');
    expect(distProblem([pair('a.ts', 10, 11), pair('bridge/reading.ts', 30, 20)])).toBe(
      'dist/ is stale: bridge/reading.ts changed after it was built',
    );
    expect(distProblem([1, 2, 3, 4, 5].map((i) => pair(`f${i}.ts`, 30, 20)))).toMatch(/f1\.ts, f2\.ts, f3\.ts and 2 more changed/);
    expect(distProblem([])).toMatch(/no source files/);
  });
});
