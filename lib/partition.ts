import { Partitioners } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();
type PartitionList = Parameters<typeof partitioner>[0]['partitionMetadata'];
const partitionLists = new Map<number, PartitionList>();

/**
 * The partition Kafka's default (Java-compatible, murmur2) partitioner gives a key among
 * `partitionCount` partitions: where a device's readings and alerts go.
 */
export function partitionOfKey(key: string | Buffer, partitionCount: number): number {
  // A Buffer key that comes back (a service's cached key of a device) is hashed once per count.
  if (typeof key !== 'string') {
    const known = memo.get(key);
    if (known !== undefined && known.count === partitionCount) return known.partition;
    const partition = hashPartition(key, partitionCount);
    memo.set(key, { count: partitionCount, partition });
    return partition;
  }
  return hashPartition(key, partitionCount);
}

const memo = new WeakMap<Buffer, { count: number; partition: number }>();

function hashPartition(key: string | Buffer, partitionCount: number): number {
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
