/**
 * The records whose identity has not been seen earlier in the batch, in order: of two records
 * with one identity the first in Kafka order wins, as it does across batches (ON CONFLICT DO
 * NOTHING). Returns `records` itself when every identity is distinct, the usual case. Done
 * here rather than in SQL because a DISTINCT ON would sort every batch on the server.
 */
export function firstOfEachIdentity<T>(records: readonly T[], isFirst: (record: T) => boolean): readonly T[] {
  let kept: T[] | undefined;
  for (let i = 0; i < records.length; i++) {
    const first = isFirst(records[i]);
    if (kept) {
      if (first) kept.push(records[i]);
    } else if (!first) {
      kept = records.slice(0, i);
    }
  }
  return kept ?? records;
}
