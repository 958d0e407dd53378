import fc from 'fast-check';
import { AckSequencer } from './ack-sequencer';

function arriveAll(seq: AckSequencer, ids: number[]) {
  return ids.map((id) => seq.arrive(id));
}

describe('AckSequencer', () => {
  it('releases in arrival order when confirmed in order', () => {
    const seq = new AckSequencer();
    const [a, b, c] = arriveAll(seq, [10, 11, 12]);
    expect(seq.confirm(a)).toEqual([10]);
    expect(seq.confirm(b)).toEqual([11]);
    expect(seq.confirm(c)).toEqual([12]);
    expect(seq.pending).toBe(0);
    expect(seq.settled).toBe(true);
  });

  it('holds everything behind an unconfirmed message, then releases the run at once', () => {
    const seq = new AckSequencer();
    const [a, b, c, d] = arriveAll(seq, [1, 2, 3, 4]);
    expect(seq.confirm(d)).toEqual([]);
    expect(seq.confirm(b)).toEqual([]);
    expect(seq.confirm(c)).toEqual([]);
    expect(seq.pending).toBe(4);
    expect(seq.confirm(a)).toEqual([1, 2, 3, 4]);
    expect(seq.pending).toBe(0);
  });

  it('releases only up to the first gap', () => {
    const seq = new AckSequencer();
    const [a, b, c, d] = arriveAll(seq, [1, 2, 3, 4]);
    seq.confirm(b);
    seq.confirm(d);
    expect(seq.confirm(a)).toEqual([1, 2]);
    expect(seq.confirm(c)).toEqual([3, 4]);
  });

  it('ignores a second confirmation, a released ticket and unknown tickets', () => {
    const seq = new AckSequencer();
    const [a, b] = arriveAll(seq, [1, 2]);
    expect(seq.confirm(a)).toEqual([1]);
    expect(seq.confirm(a)).toEqual([]);
    expect(seq.confirm(99)).toEqual([]);
    expect(seq.confirm(-1)).toEqual([]);
    expect(seq.confirm(0.5)).toEqual([]);
    expect(seq.confirm(b)).toEqual([2]);
    expect(seq.confirm(b)).toEqual([]);
  });

  it('treats a reused packet id as a new message (the broker reuses ids once acknowledged)', () => {
    const seq = new AckSequencer();
    const first = seq.arrive(7);
    expect(seq.confirm(first)).toEqual([7]);
    const second = seq.arrive(7);
    expect(second).not.toBe(first);
    expect(seq.confirm(first)).toEqual([]); // the old ticket does not acknowledge the new message
    expect(seq.confirm(second)).toEqual([7]);
  });

  it('keeps one entry per arrival even if an id repeats while pending (a broker bug): one PUBACK each', () => {
    const seq = new AckSequencer();
    const [a, b] = arriveAll(seq, [5, 5]);
    expect(seq.confirm(b)).toEqual([]);
    expect(seq.confirm(a)).toEqual([5, 5]);
  });

  it('wraps around packet ids without caring about their values', () => {
    const seq = new AckSequencer();
    const tickets = arriveAll(seq, [65534, 65535, 1, 2]);
    expect(seq.confirm(tickets[3])).toEqual([]);
    expect(seq.confirm(tickets[2])).toEqual([]);
    expect(seq.confirm(tickets[1])).toEqual([]);
    expect(seq.confirm(tickets[0])).toEqual([65534, 65535, 1, 2]);
  });

  describe('fence', () => {
    it('releases nothing at or past the fence, but what precedes it as usual', () => {
      const seq = new AckSequencer();
      const [a, b, c, d] = arriveAll(seq, [1, 2, 3, 4]);
      seq.fence(c); // message 3's hand-off failed
      expect(seq.settled).toBe(false);
      expect(seq.confirm(d)).toEqual([]);
      expect(seq.confirm(b)).toEqual([]);
      expect(seq.confirm(a)).toEqual([1, 2]);
      expect(seq.settled).toBe(true); // everything before the fence is out
      expect(seq.confirm(c)).toEqual([]);
      expect(seq.pending).toBe(2);
    });

    it('never moves forward', () => {
      const seq = new AckSequencer();
      const [a, b, c] = arriveAll(seq, [1, 2, 3]);
      seq.fence(b);
      seq.fence(c);
      seq.confirm(c);
      seq.confirm(b);
      expect(seq.confirm(a)).toEqual([1]);
    });

    it('at the next ticket lets everything arrived so far out and nothing later (stopping)', () => {
      const seq = new AckSequencer();
      const [a, b] = arriveAll(seq, [1, 2]);
      seq.fence(seq.nextTicket);
      const late = seq.arrive(3);
      seq.confirm(late);
      seq.confirm(b);
      expect(seq.settled).toBe(false);
      expect(seq.confirm(a)).toEqual([1, 2]);
      expect(seq.settled).toBe(true);
    });

    it('at the first ticket releases nothing at all', () => {
      const seq = new AckSequencer();
      const [a] = arriveAll(seq, [1]);
      seq.fence(a);
      expect(seq.settled).toBe(true);
      expect(seq.confirm(a)).toEqual([]);
    });
  });

  it('stays correct across compaction of a long run', () => {
    const seq = new AckSequencer();
    const window: number[] = [];
    const released: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      window.push(seq.arrive((i % 65535) + 1));
      // Confirm the newest first once the window is full, so releases come in bursts.
      if (window.length === 100) {
        for (let j = window.length - 1; j >= 0; j--) released.push(...seq.confirm(window[j]));
        window.length = 0;
      }
    }
    expect(released).toHaveLength(50_000);
    expect(released.every((id, i) => id === (i % 65535) + 1)).toBe(true);
    expect(seq.pending).toBe(0);
  });

  it('property: any confirmation order releases every id exactly once, in arrival order, never past a gap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.record({
            ids: fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: n, maxLength: n }),
            order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
            fenceAt: fc.option(fc.integer({ min: 0, max: n }), { nil: undefined }),
          }),
        ),
        ({ ids, order, fenceAt }) => {
          const seq = new AckSequencer();
          const tickets = arriveAll(seq, ids);
          if (fenceAt !== undefined) seq.fence(fenceAt);
          const confirmed = new Set<number>();
          const released: number[] = [];
          for (const i of order) {
            confirmed.add(i);
            const out = seq.confirm(tickets[i]);
            for (let k = 0; k < out.length; k++) {
              const position = released.length;
              // Released only if it and everything before it are confirmed.
              for (let p = 0; p <= position; p++) if (!confirmed.has(p)) throw new Error(`released ${position} before ${p} was confirmed`);
              if (out[k] !== ids[position]) throw new Error(`released ${out[k]} at ${position}, expected ${ids[position]}`);
              released.push(out[k]);
            }
          }
          const limit = fenceAt ?? ids.length;
          expect(released).toEqual(ids.slice(0, limit));
          expect(seq.settled).toBe(true);
          expect(seq.pending).toBe(ids.length - limit);
        },
      ),
    );
  });
});
