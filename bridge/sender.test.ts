import { Message } from 'kafkajs';
import { BatchSender, recordBytes } from './sender';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const msg = (v: string): Message => ({ key: v, value: Buffer.from(v) });

describe('BatchSender', () => {
  it('batches what arrives while a request is in flight, and keeps order', async () => {
    const requests: string[][] = [];
    const gates = [deferred(), deferred()];
    const sender = new BatchSender(
      async (tm) => {
        requests.push(tm.flatMap((t) => t.messages.map((m) => String(m.key))));
        await gates[requests.length - 1].promise;
      },
      { maxBatch: 100, maxBatchBytes: 1e6, maxInFlight: 1 },
    );
    const settled: string[] = [];
    const push = (v: string) => sender.push({ topic: 't', message: msg(v), settle: () => settled.push(v) });
    push('a');
    await Promise.resolve();
    push('b');
    push('c');
    expect(requests).toEqual([['a']]);
    gates[0].resolve();
    await new Promise((r) => setImmediate(r));
    expect(requests).toEqual([['a'], ['b', 'c']]);
    gates[1].resolve();
    await sender.flush();
    expect(settled).toEqual(['a', 'b', 'c']);
  });

  it('settles every record of a failed request with the error', async () => {
    const sender = new BatchSender(
      async () => {
        throw new Error('kafka down');
      },
      { maxBatch: 10, maxBatchBytes: 1e6, maxInFlight: 1 },
    );
    const errors: (Error | undefined)[] = [];
    for (const v of ['a', 'b']) sender.push({ topic: 't', message: msg(v), settle: (e) => errors.push(e) });
    await sender.flush();
    expect(errors.map((e) => e?.message)).toEqual(['kafka down', 'kafka down']);
  });

  it('splits by maxBatch and groups by topic', async () => {
    const requests: { topic: string; n: number }[][] = [];
    const sender = new BatchSender(async (tm) => void requests.push(tm.map((t) => ({ topic: t.topic, n: t.messages.length }))), {
      maxBatch: 3,
      maxBatchBytes: 1e6,
      maxInFlight: 1,
    });
    for (let i = 0; i < 5; i++) sender.push({ topic: i % 2 ? 'dlq' : 'telemetry', message: msg(String(i)), settle: () => undefined });
    await sender.flush();
    expect(requests).toEqual([
      [
        { topic: 'telemetry', n: 2 },
        { topic: 'dlq', n: 1 },
      ],
      [
        { topic: 'dlq', n: 1 },
        { topic: 'telemetry', n: 1 },
      ],
    ]);
  });

  it('keeps a request under maxBatchBytes, and sends a record larger than that on its own', async () => {
    const requests: number[][] = [];
    const sender = new BatchSender(async (tm) => void requests.push(tm.flatMap((t) => t.messages.map((m) => (m.value as Buffer).length))), {
      maxBatch: 100,
      maxBatchBytes: 1000,
      maxInFlight: 1,
    });
    const push = (size: number) => sender.push({ topic: 't', message: { value: Buffer.alloc(size) }, settle: () => undefined });
    for (const size of [400, 400, 400, 2000, 100]) push(size);
    await sender.flush();
    expect(requests).toEqual([[400, 400], [400], [2000], [100]]);
  });

  it('counts keys, values, headers and framing in recordBytes', () => {
    expect(recordBytes({ key: 'abc', value: Buffer.alloc(10), headers: { 'x-a': 'é', 'x-b': [Buffer.alloc(4), 'z'] } })).toBe(
      32 + 3 + 10 + 3 + 2 + 3 + 4 + 1,
    );
    expect(recordBytes({ value: null })).toBe(32);
  });
});
