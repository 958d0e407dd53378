import { Admin, Message, Producer } from 'kafkajs';
import { PipelineError } from './errors';
import { partitionOfKey } from './partition';

/** Kafka did not confirm some partitions of a send; the caller must treat those records as not sent. */
export class UnacknowledgedPartitionsError extends PipelineError {
  constructor(readonly partitions: string[]) {
    super(`Kafka did not acknowledge partitions ${partitions.join(', ')} of a send`, { retriable: true });
  }
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/**
 * A send (acks = all) that succeeds only when Kafka acknowledged every partition it touched.
 *
 * Why: KafkaJS 2.2.4 can resolve a send without having sent some records. When, during the
 * send's retries, a partition's leadership moves to a broker that has already answered for
 * other partitions of the same send, the records of the moved partition are not sent again,
 * and the send reports success (KafkaJS issue 1303, open). The three-broker test saw 11
 * acknowledged readings lost that way. So each message is pinned to its partition here (the
 * same murmur2 choice the default partitioner makes) and the response is checked for each.
 * Messages are mutated (their `partition` set): they belong to this send.
 */
export class AcknowledgedSender {
  private readonly counts = new Map<string, { partitions: number; atMs: number }>();
  private roundRobin = 0;

  constructor(
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly refreshMs = 60_000,
  ) {}

  async send(topicMessages: TopicMessages[]): Promise<void> {
    const expected = new Set<string>();
    for (const { topic, messages } of topicMessages) {
      const count = await this.partitionCount(topic);
      for (const m of messages) {
        // Keyless records (none of ours but dead letters without one) spread round-robin.
        m.partition = m.key === null || m.key === undefined ? this.roundRobin++ % count : partitionOfKey(m.key, count);
        expected.add(`${topic}/${m.partition}`);
      }
    }
    const acknowledged = await this.producer.sendBatch({ topicMessages, acks: -1 });
    for (const r of acknowledged) if (r.errorCode === 0) expected.delete(`${r.topicName}/${r.partition}`);
    if (expected.size > 0) {
      this.counts.clear(); // the cluster changed under us: learn it anew
      throw new UnacknowledgedPartitionsError([...expected]);
    }
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.counts.get(topic);
    if (known !== undefined && Date.now() - known.atMs < this.refreshMs) return known.partitions;
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics[0]?.partitions.length ?? 0;
    if (partitions === 0) throw new PipelineError(`topic ${topic} has no partitions (does it exist?)`, { retriable: true });
    this.counts.set(topic, { partitions, atMs: Date.now() });
    return partitions;
  }
}
