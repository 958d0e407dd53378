import { Admin, Kafka } from 'kafkajs';
import { PipelineError } from './errors';
import { OffsetRange, readRanges } from './kafka-range';

/** One partition of a topic as the broker has it now, and where a time range lies in it. */
export interface PartitionSpan {
  partition: number;
  /** Log start offset: records before it are deleted (retention) or never existed (0). */
  low: bigint;
  high: bigint;
  /** First offset whose Kafka timestamp is at or after the range's start (`high` when none). */
  from: bigint;
  /** First offset whose Kafka timestamp is at or after the range's end (`high` when none). */
  to: bigint;
  /** Kafka timestamp (ms) of the record at `low`, when it was read (see `retentionGaps`). */
  firstTimestampMs?: number;
}

/** A partition that has deleted records Kafka may have held for the range. */
export interface RetentionGap {
  partition: number;
  /** Offset and timestamp of its oldest retained record. */
  low: bigint;
  firstTimestampMs: number;
}

/** Part of the range is older than what Kafka retains; the command cannot be done faithfully. */
export class RangeNotRetainedError extends PipelineError {
  constructor(
    readonly topic: string,
    readonly fromMs: number,
    readonly gaps: RetentionGap[],
  ) {
    const retainedFrom = Math.max(...gaps.map((g) => g.firstTimestampMs));
    const list = gaps
      .map((g) => `partition ${g.partition} from ${new Date(g.firstTimestampMs).toISOString()} (offset ${g.low})`)
      .join(', ');
    super(
      `Kafka no longer retains ${topic} from ${new Date(fromMs).toISOString()}; older records are deleted, it keeps ${list}. ` +
        `Every partition is retained from ${new Date(retainedFrom).toISOString()}: use --from ${new Date(retainedFrom).toISOString()} or later.`,
    );
  }

  /** The earliest start that every partition retains. */
  get retainedFromMs(): number {
    return Math.max(...this.gaps.map((g) => g.firstTimestampMs));
  }
}

/**
 * Partitions that may have lost records of a range starting at `fromMs`. A partition whose log
 * starts at 0 has lost nothing. One that has deleted records (low > 0) has lost some of the range
 * when its oldest retained record is younger than the range's start: the deleted ones before it
 * may have been in the range. (Kafka timestamps are the producer's, ascending in practice; a
 * partition whose retained records are all younger than the range's start tells that by its
 * `from` being `low`, and only those need their first record read.) A partition retaining no
 * record at all tells nothing and is left out.
 */
export function retentionGaps(spans: readonly PartitionSpan[], fromMs: number): RetentionGap[] {
  return spans
    .filter((s) => mayHaveLost(s) && s.firstTimestampMs !== undefined && s.firstTimestampMs > fromMs)
    .map((s) => ({ partition: s.partition, low: s.low, firstTimestampMs: s.firstTimestampMs! }));
}

function mayHaveLost(s: PartitionSpan): boolean {
  return s.low > 0n && s.high > s.low && s.from === s.low;
}

/** The offset ranges of `spans` (empty ones included: callers may count them). */
export function offsetRanges(topic: string, spans: readonly PartitionSpan[]): OffsetRange[] {
  return spans.map((s) => ({ topic, partition: s.partition, from: s.from, to: s.to }));
}

/**
 * Where [fromMs, toMs) of Kafka time lies on every partition of `topic`, with the first record's
 * timestamp read on the partitions that may have lost part of it. Throws RangeNotRetainedError
 * when some have.
 */
export async function spansForTimeRange(kafka: Kafka, admin: Admin, topic: string, fromMs: number, toMs: number): Promise<PartitionSpan[]> {
  const [ends, starts, stops] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchTopicOffsetsByTimestamp(topic, fromMs),
    admin.fetchTopicOffsetsByTimestamp(topic, toMs),
  ]);
  const at = (list: { partition: number; offset: string }[], p: number, fallback: string) =>
    BigInt(list.find((x) => x.partition === p)?.offset ?? fallback);
  const spans: PartitionSpan[] = ends
    .map((e) => ({
      partition: e.partition,
      low: BigInt(e.low),
      high: BigInt(e.high),
      from: at(starts, e.partition, e.high),
      to: at(stops, e.partition, e.high),
    }))
    .sort((a, b) => a.partition - b.partition);
  const suspects = spans.filter(mayHaveLost);
  if (suspects.length > 0) {
    await readRanges(
      kafka,
      admin,
      suspects.map((s) => ({ topic, partition: s.partition, from: s.low, to: s.low + 1n })),
      (_topic, partition, messages) => {
        const span = spans.find((s) => s.partition === partition)!;
        span.firstTimestampMs = Number(messages[0].timestamp);
      },
    );
  }
  const gaps = retentionGaps(spans, fromMs);
  if (gaps.length > 0) throw new RangeNotRetainedError(topic, fromMs, gaps);
  return spans;
}
