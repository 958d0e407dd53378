import { Batcher } from './batcher';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Batcher', () => {
  it('groups concurrent writers into one flush once maxRecords are pending', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher(async (r: number[]) => void flushed.push(r), { maxRecords: 4, lingerMs: 60000 });
    const a = batcher.write([1, 2]);
    const b = batcher.write([3, 4]);
    await Promise.all([a, b]);
    expect(flushed).toEqual([[1, 2, 3, 4]]);
  });

  it('flushes a small batch after the linger time', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher(async (r: number[]) => void flushed.push(r), { maxRecords: 100, lingerMs: 5 });
    await batcher.write([1]);
    expect(flushed).toEqual([[1]]);
  });

  it('resolves a writer only after its own records are flushed, and runs flushes one at a time', async () => {
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
      { maxRecords: 1, lingerMs: 1 },
    );
    let firstDone = false;
    const first = batcher.write([1]).then(() => (firstDone = true));
    const second = batcher.write([2]);
    await Promise.resolve();
    expect(firstDone).toBe(false);
    gate.resolve();
    await Promise.all([first, second]);
    expect(maxConcurrent).toBe(1);
  });

  it('rejects every writer of a failed flush and keeps working afterwards', async () => {
    let fail = true;
    const batcher = new Batcher(
      async () => {
        if (fail) throw new Error('db down');
      },
      { maxRecords: 2, lingerMs: 1 },
    );
    const results = await Promise.allSettled([batcher.write([1]), batcher.write([2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batcher.write([3, 4])).resolves.toBeUndefined();
  });
});
