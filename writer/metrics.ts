import client from 'prom-client';

export function writerMetrics(registry: client.Registry) {
  return {
    rows: new client.Counter({
      name: 'iot_writer_rows_total',
      help: 'Records handled by the writer, by table and result (inserted, or skipped as an identity already stored)',
      labelNames: ['table', 'result'] as const,
      registers: [registry],
    }),
    batchRows: new client.Histogram({
      name: 'iot_writer_batch_rows',
      help: 'Rows per database transaction',
      labelNames: ['table'] as const,
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000],
      registers: [registry],
    }),
    batches: new client.Counter({
      name: 'iot_writer_batches_total',
      help: 'Database transactions, by table and path: copy (plain COPY, every row new) or staging (COPY into staging, insert what is new)',
      labelNames: ['table', 'path'] as const,
      registers: [registry],
    }),
    writeSeconds: new client.Histogram({
      name: 'iot_writer_write_seconds',
      help: 'Time to COPY and insert one batch, commit included',
      labelNames: ['table'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    writeErrors: new client.Counter({
      name: 'iot_writer_write_errors_total',
      help: 'Failed batch writes, by table and whether they were retried',
      labelNames: ['table', 'retriable'] as const,
      registers: [registry],
    }),
    rejected: new client.Counter({
      name: 'iot_writer_rejected_total',
      help: 'Records sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    lag: new client.Gauge({
      name: 'iot_writer_consumer_lag',
      help: 'Records behind the partition high watermark after the last batch',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    committedOffset: new client.Gauge({
      name: 'iot_writer_committed_offset',
      help: 'Next offset to read, as committed for each partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
  };
}

export type WriterMetrics = ReturnType<typeof writerMetrics>;
