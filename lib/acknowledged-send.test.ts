import type { Admin, Message, Producer, RecordMetadata } from 'kafkajs';
import { AcknowledgedSender, UnacknowledgedPartitionsError } from './acknowledged-send';
import { partitionOfKey } from './partition';

/**
 * Fakes, for a fault that cannot be produced on demand: KafkaJS resolving a send without
 * having sent one partition's records (a leader move mid-retry on a multi-broker cluster;
 * the real thing is shown by test/kafka3/kafka-broker-loss.test.ts when it strikes).
 */
function fakeAdminWithPartitions(count: number): Admin {
  return {
    fetchTopicMetadata: async () => ({
      topics: [{ name: 't', partitions: Array.from({ length: count }, (_, i) => ({ partitionId: i })) }],
    }),
  } as unknown as Admin;
}

function fakeProducerLosingPartition(lost: number | null, sent: Message[][]): Producer {
  return {
    sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }): Promise<RecordMetadata[]> => {
      const out: RecordMetadata[] = [];
      for (const { topic, messages } of topicMessages) {
        sent.push(messages);
        for (const p of new Set(messages.map((m) => m.partition!))) {
          if (p !== lost) out.push({ topicName: topic, partition: p, errorCode: 0 });
        }
      }
      return out;
    },
  } as unknown as Producer;
}

const messages = (n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: `dev-${i}`, value: Buffer.from('x') }));

describe('AcknowledgedSender', () => {
  it('pins each record to the partition the default partitioner picks, and passes when every one is acknowledged', async () => {
    const sent: Message[][] = [];
    const sender = new AcknowledgedSender(fakeProducerLosingPartition(null, sent), fakeAdminWithPartitions(6));
    await sender.send([{ topic: 't', messages: messages(50) }]);
    for (const m of sent[0]) expect(m.partition).toBe(partitionOfKey(m.key as string, 6));
  });

  it('fails, retriably, when Kafka did not acknowledge a partition it was sent', async () => {
    const sent: Message[][] = [];
    const batch = messages(50);
    const lost = partitionOfKey('dev-0', 6);
    const sender = new AcknowledgedSender(fakeProducerLosingPartition(lost, sent), fakeAdminWithPartitions(6));
    const err = await sender.send([{ topic: 't', messages: batch }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnacknowledgedPartitionsError);
    expect((err as UnacknowledgedPartitionsError).retriable).toBe(true);
    expect((err as UnacknowledgedPartitionsError).partitions).toEqual([`t/${lost}`]);
  });

  it('spreads keyless records over the partitions', async () => {
    const sent: Message[][] = [];
    const sender = new AcknowledgedSender(fakeProducerLosingPartition(null, sent), fakeAdminWithPartitions(3));
    await sender.send([{ topic: 't', messages: Array.from({ length: 6 }, () => ({ key: null, value: Buffer.from('x') })) }]);
    expect(sent[0].map((m) => m.partition)).toEqual([0, 1, 2, 0, 1, 2]);
  });
});
