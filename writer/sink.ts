import { Pool } from 'pg';
import { AvroCodec } from '../lib/avro';
import { Batcher } from './batcher';
import { TableSpec } from './tables';
import { writeBatch, WriteResult } from './store';
import { WriterMetrics } from './metrics';

/** One Kafka topic flowing into one table: its codec and its batcher. */
export interface TopicSink<T> {
  topic: string;
  table: TableSpec<T>;
  codec: AvroCodec<T>;
  batcher: Batcher<T, WriteResult>;
}

/**
 * Flushes of one table in flight at once. Two let one batch be copied and inserted while the
 * previous commits; with the alerts sink that is the writer's pool of 4 connections.
 */
const FLUSHES_IN_FLIGHT = 2;

export function createTopicSink<T>(
  topic: string,
  table: TableSpec<T>,
  codec: AvroCodec<T>,
  pool: Pool,
  options: { batchSize: number; lingerMs: number },
  metrics: WriterMetrics,
): TopicSink<T> {
  const batcher = new Batcher<T, WriteResult>((records) => writeBatch(pool, table, records), {
    maxRecords: options.batchSize,
    lingerMs: options.lingerMs,
    maxInFlight: FLUSHES_IN_FLIGHT,
    onFlushed: (records, result, ms) => {
      metrics.rows.inc({ table: table.name, result: 'inserted' }, result.inserted);
      if (result.skipped > 0) metrics.rows.inc({ table: table.name, result: 'skipped' }, result.skipped);
      metrics.batchRows.observe({ table: table.name }, records.length);
      metrics.batches.inc({ table: table.name, path: result.copiedDirectly ? 'copy' : 'staging' });
      metrics.writeSeconds.observe({ table: table.name }, ms / 1000);
    },
  });
  return { topic, table, codec, batcher };
}
