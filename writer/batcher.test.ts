import { Batcher } from './batcher';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Batcher', () => {
  it('groups concurrent writers into one flush once maxRecords are pending', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher(async (r: number[]) => void flushed.push(r), { maxRecords: 4, lingerMs: 60000, maxInFlight: 2 });
    const a = batcher.write([1, 2]);
    const b = batcher.write([3, 4]);
    await Promise.all([a, b]);
    expect(flushed).toEqual([[1, 2, 3, 4]]);
  });

  it('flushes a small batch after the linger time', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher(async (r: number[]) => void flushed.push(r), { maxRecords: 100, lingerMs: 5, maxInFlight: 2 });
    await batcher.write([1]);
    expect(flushed).toEqual([[1]]);
  });

  it('resolves a writer only after its own records are flushed, and runs at most maxInFlight flushes at once', async () => {
    const gate = deferred();
    let concurrent = 0;
    let maxConcurrent = 0;
    const batcher = new Batcher(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await gate.promise;
        concurrent--;
      },
      { maxRecords: 1, lingerMs: 1, maxInFlight: 2 },
    );
    let firstDone = false;
    const first = batcher.write([1]).then(() => (firstDone = true));
    const rest = [batcher.write([2]), batcher.write([3])];
    await new Promise((r) => setImmediate(r));
    expect(firstDone).toBe(false);
    expect(concurrent).toBe(2);
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(maxConcurrent).toBe(2);
  });

  it('settles writers in flush order even when a later flush finishes first', async () => {
    const gates = [deferred(), deferred()];
    const batcher = new Batcher(async ([n]: number[]) => gates[n].promise, { maxRecords: 1, lingerMs: 1, maxInFlight: 2 });
    const settled: number[] = [];
    const writes = [0, 1].map((n) => batcher.write([n]).then(() => settled.push(n)));
    gates[1].resolve();
    await new Promise((r) => setImmediate(r));
    expect(settled).toEqual([]);
    gates[0].resolve();
    await Promise.all(writes);
    expect(settled).toEqual([0, 1]);
  });

  it('rejects every writer of a failed flush and keeps working afterwards', async () => {
    let fail = true;
    const batcher = new Batcher(
      async () => {
        if (fail) throw new Error('db down');
      },
      { maxRecords: 2, lingerMs: 1, maxInFlight: 2 },
    );
    const results = await Promise.allSettled([batcher.write([1]), batcher.write([2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batcher.write([3, 4])).resolves.toBeUndefined();
  });
});
