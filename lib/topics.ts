import { Admin, ITopicConfig } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet; existing ones are left as they are (Kafka
 * cannot shrink partitions, and changing a live topic is an operator's decision).
 * Returns the names it created.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((s) => ({
    topic: s.topic,
    numPartitions: s.partitions,
    replicationFactor: s.replicationFactor,
    configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
  }));
  await admin.createTopics({ topics, waitForLeaders: true });
  return missing.map((s) => s.topic);
}

export function subjectOf(topic: string): string {
  return `${topic}-value`;
}
