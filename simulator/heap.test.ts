import fc from 'fast-check';
import { MinHeap } from './heap';

describe('MinHeap', () => {
  it('pops in (at, tie) order whatever the push order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (ats) => {
        const heap = new MinHeap<{ at: number; tie: number }>();
        ats.forEach((at, tie) => heap.push({ at, tie }));
        const out: { at: number; tie: number }[] = [];
        for (let x = heap.pop(); x; x = heap.pop()) out.push(x);
        const expected = ats.map((at, tie) => ({ at, tie })).sort((a, b) => a.at - b.at || a.tie - b.tie);
        expect(out).toEqual(expected);
      }),
    );
  });
});
