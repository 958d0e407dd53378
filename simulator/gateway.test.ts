import { batchPayload, Gateways } from './gateway';

describe('Gateways', () => {
  it('groups devices by N and releases a batch when a gateway holds N readings', () => {
    const g = new Gateways<string>(3);
    expect(g.add(0, 'a0')).toBeUndefined();
    expect(g.add(3, 'b3')).toBeUndefined();
    expect(g.add(1, 'a1')).toBeUndefined();
    expect(g.add(2, 'a2')).toEqual({ gateway: 0, items: ['a0', 'a1', 'a2'] });
    expect(g.add(0, 'a0 again')).toBeUndefined();
    expect(g.add(5, 'b5')).toBeUndefined();
    expect(g.drain()).toEqual([
      { gateway: 0, items: ['a0 again'] },
      { gateway: 1, items: ['b3', 'b5'] },
    ]);
    expect(g.drain()).toEqual([]);
  });

  it('with N = 1 every reading is its own batch', () => {
    const g = new Gateways<number>(1);
    expect(g.add(7, 70)).toEqual({ gateway: 7, items: [70] });
  });

  it('refuses a size below 1', () => {
    expect(() => new Gateways(0)).toThrow(/>= 1/);
  });

  it('writes the batch as a JSON array of the readings', () => {
    expect(JSON.parse(batchPayload(['{"a":1}', '{"b":2}']))).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
