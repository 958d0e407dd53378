import { ConfigOf, kafkaSchema, metricsSchema, postgresSchema, registrySchema } from '../lib/config';

export const writerSchema = {
  kafka: kafkaSchema,
  registry: registrySchema,
  postgres: postgresSchema,
  metrics: { port: { ...metricsSchema.port, default: 9465 } },
  writer: {
    groupId: { doc: 'Consumer group of the writers', format: String, default: 'iot-writer', env: 'WRITER_GROUP_ID' },
    batchSize: {
      doc: 'Rows per database transaction: a flush starts once this many are pending',
      format: 'positive-int',
      default: 5000,
      env: 'BATCH_SIZE',
    },
    lingerMs: {
      doc: 'Longest wait, in ms, before a smaller batch is flushed',
      format: 'positive-int',
      default: 200,
      env: 'WRITER_LINGER_MS',
    },
    sinkAlerts: {
      doc: 'Also sink the alerts topic into device_alerts',
      format: 'boolean-text',
      default: true,
      env: 'WRITER_SINK_ALERTS',
    },
    fromBeginning: {
      doc: 'A new consumer group starts at the earliest offset (else the latest)',
      format: 'boolean-text',
      default: true,
      env: 'WRITER_FROM_BEGINNING',
    },
    retryMaxMs: {
      doc: 'Longest back-off, in ms, between retries of a failed database write',
      format: 'positive-int',
      default: 10000,
      env: 'WRITER_RETRY_MAX_MS',
    },
  },
};

export type WriterConfig = ConfigOf<typeof writerSchema>;
