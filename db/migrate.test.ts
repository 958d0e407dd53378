import { refreshStartOffset } from './migrate';

/** migrate on a database: test/db-schema.test.ts (both engines) and test/db-migrate.test.ts. */

describe('refreshStartOffset', () => {
  it('keeps the preferred window inside the retention period', () => {
    expect(refreshStartOffset('7 days', 3600, '90 days')).toBe('7 days');
    expect(refreshStartOffset('7 days', 3600, '2 days')).toBe('86400 seconds');
    expect(refreshStartOffset('1 day', 60, '1 hour')).toBe('1800 seconds');
    expect(refreshStartOffset('1 day', 60, '2 minutes')).toBe('180 seconds');
  });
});
