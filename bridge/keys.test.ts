import { partitionOfKey } from '../lib/partition';
import { KeyCache } from './keys';

describe('KeyCache', () => {
  it('gives one Buffer per id, the UTF-8 of the id, hashed to the partition of the string', () => {
    const keys = new KeyCache();
    const a = keys.of('dev-001');
    expect(keys.of('dev-001')).toBe(a);
    expect(a.toString('utf8')).toBe('dev-001');
    expect(keys.of('dév-2').equals(Buffer.from('dév-2'))).toBe(true);
    for (const id of ['dev-001', 'dév-2', 'x'.repeat(64)]) {
      for (const count of [1, 6, 12]) {
        expect(partitionOfKey(keys.of(id), count)).toBe(partitionOfKey(id, count));
        expect(partitionOfKey(keys.of(id), count)).toBe(partitionOfKey(id, count)); // memoised answer too
      }
    }
  });

  it('starts over past its bound', () => {
    const keys = new KeyCache(3);
    for (const id of ['a', 'b', 'c']) keys.of(id);
    expect(keys.size).toBe(3);
    keys.of('d');
    expect(keys.size).toBe(1);
  });
});
