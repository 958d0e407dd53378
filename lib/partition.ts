import { Partitioners } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();
type PartitionList = Parameters<typeof partitioner>[0]['partitionMetadata'];
const partitionLists = new Map<number, PartitionList>();

/**
 * The partition Kafka's default (Java-compatible, murmur2) partitioner gives a key among
 * `partitionCount` partitions: where a device's readings and alerts go.
 */
export function partitionOfKey(key: string | Buffer, partitionCount: number): number {
  let partitionMetadata = partitionLists.get(partitionCount);
  if (partitionMetadata === undefined) {
    partitionMetadata = Array.from({ length: partitionCount }, (_, i) => ({
      partitionId: i,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    partitionLists.set(partitionCount, partitionMetadata);
  }
  return partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
