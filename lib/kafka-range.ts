import { randomBytes } from 'node:crypto';
import { Admin, EachBatchPayload, Kafka } from 'kafkajs';

/** Offsets [from, to) of one partition. */
export interface OffsetRange {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

/**
 * Reads fixed offset ranges once, outside any consumer group's assignment: a throwaway
 * group that never commits, seeks every partition to its start, hands batches over in
 * offset order and stops when each range is done. KafkaJS has no group-less reader; this
 * is the smallest thing that behaves like one. The throwaway group is deleted afterwards.
 */
export async function readRanges(
  kafka: Kafka,
  admin: Admin,
  ranges: readonly OffsetRange[],
  onBatch: (topic: string, partition: number, messages: EachBatchPayload['batch']['messages']) => Promise<void> | void,
  heartbeat: () => Promise<void> = async () => undefined,
): Promise<number> {
  const pending = new Map<string, OffsetRange>();
  for (const r of ranges) if (r.to > r.from) pending.set(`${r.topic}/${r.partition}`, r);
  if (pending.size === 0) return 0;

  const groupId = `range-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 30000 });
  let count = 0;
  let finished!: () => void;
  let failed!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  consumer.on(consumer.events.CRASH, (e) => failed(e.payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = pending.get(`${batch.topic}/${batch.partition}`);
        if (range === undefined) return;
        // Before the seek lands a fetch may start elsewhere: keep only what is in range.
        const inRange = batch.messages.filter((m) => {
          const o = BigInt(m.offset);
          return o >= range.from && o < range.to;
        });
        if (inRange.length > 0) {
          await onBatch(batch.topic, batch.partition, inRange);
          count += inRange.length;
          range.from = BigInt(inRange[inRange.length - 1].offset) + 1n;
        }
        if (range.from >= range.to) {
          pending.delete(`${batch.topic}/${batch.partition}`);
          if (pending.size === 0) finished();
        }
        await heartbeat();
      },
    });
    for (const r of pending.values()) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from.toString() });
    await done;
    return count;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}
