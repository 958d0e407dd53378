import { alertsFromTimestampMs, commitMetadata, parseCommitMetadata, replayFromTimestampMs } from './replay-plan';

describe('replay plan', () => {
  it('commit metadata carries the last record timestamp, and anything else reads as unknown', () => {
    expect(parseCommitMetadata(commitMetadata(1_700_000_000_123))).toBe(1_700_000_000_123);
    for (const foreign of [null, undefined, '', 'not json', '{"ts":5}', '{"v":1,"ts":"5"}', '{"v":2,"ts":5}']) {
      expect(parseCommitMetadata(foreign)).toBeNull();
    }
  });

  it('replays from the newest committed timestamp minus the horizon and the allowed clock lead', () => {
    const positions = [
      { partition: 0, offset: 10n, lastTimestampMs: 1_000_000 },
      { partition: 1, offset: 20n, lastTimestampMs: 1_500_000 },
      { partition: 2, offset: -1n, lastTimestampMs: null },
    ];
    // horizon 600 s, clock lead 300 s
    expect(replayFromTimestampMs(positions, 600_000_000, 300)).toBe(1_500_000 - 600_000 - 300_000);
    expect(alertsFromTimestampMs(600_000, 600_000_000)).toBe(0);
    expect(alertsFromTimestampMs(1_000_000, 600_000_000)).toBe(400_000);
  });

  it('nothing to replay for a group that never committed; from the start when a commit has no timestamp', () => {
    expect(replayFromTimestampMs([{ partition: 0, offset: -1n, lastTimestampMs: null }], 1, 0)).toBeNull();
    expect(
      replayFromTimestampMs(
        [
          { partition: 0, offset: 5n, lastTimestampMs: null },
          { partition: 1, offset: 5n, lastTimestampMs: 9e12 },
        ],
        1,
        0,
      ),
    ).toBe(0);
  });
});
