import { PartitionSpan, RangeNotRetainedError, retentionGaps } from './kafka-history';

const span = (partition: number, low: number, high: number, from: number, firstTimestampMs?: number): PartitionSpan => ({
  partition,
  low: BigInt(low),
  high: BigInt(high),
  from: BigInt(from),
  to: BigInt(high),
  firstTimestampMs,
});

describe('retentionGaps', () => {
  const FROM = 1_000_000;

  it('finds nothing lost on partitions that never deleted a record, however old the range', () => {
    expect(retentionGaps([span(0, 0, 100, 0, FROM + 5000), span(1, 0, 0, 0)], FROM)).toEqual([]);
  });

  it('finds nothing lost where the range starts after the oldest retained record', () => {
    // from > low: records older than the range's start are still there
    expect(retentionGaps([span(0, 50, 100, 70)], FROM)).toEqual([]);
    // from = low, but that record is exactly the range's start
    expect(retentionGaps([span(0, 50, 100, 50, FROM)], FROM)).toEqual([]);
  });

  it('reports a partition whose oldest retained record is younger than the range start', () => {
    const gaps = retentionGaps([span(0, 50, 100, 50, FROM + 60_000), span(1, 0, 100, 0, FROM + 1), span(2, 7, 7, 7)], FROM);
    expect(gaps).toEqual([{ partition: 0, low: 50n, firstTimestampMs: FROM + 60_000 }]);
    const err = new RangeNotRetainedError('iot.telemetry.v1', FROM, gaps);
    expect(err.retainedFromMs).toBe(FROM + 60_000);
    expect(err.message).toMatch(/no longer retains iot\.telemetry\.v1 from 1970-01-01T00:16:40\.000Z/);
    expect(err.message).toMatch(/partition 0 from 1970-01-01T00:17:40\.000Z \(offset 50\)/);
    expect(err.message).toMatch(/use --from 1970-01-01T00:17:40\.000Z or later/);
    expect(err.retriable).toBe(false);
  });
});
