import { ConfigOf, kafkaSchema, metricsSchema, registrySchema } from '../lib/config';
import { detectorSchema } from './settings';

/** The detector service: where it reads and writes, how it runs, and the rules' settings. */
export const detectorServiceSchema = {
  kafka: kafkaSchema,
  registry: registrySchema,
  metrics: { port: { ...metricsSchema.port, default: 9466 } },
  service: {
    groupId: {
      doc: 'Consumer group of the detectors (its own: it reads every reading the writers read)',
      format: String,
      default: 'iot-detector',
      env: 'DETECTOR_GROUP_ID',
    },
    fromBeginning: {
      doc: 'A new consumer group starts at the earliest offset (else the latest)',
      format: 'boolean-text',
      default: true,
      env: 'DETECTOR_FROM_BEGINNING',
    },
    tickMs: { doc: 'How often, in ms, silent devices are looked for', format: 'positive-int', default: 1000, env: 'DETECTOR_TICK_MS' },
    caughtUpLag: {
      doc: 'Records behind the partition ends (all assigned partitions) under which the detector counts as caught up and judges silence',
      format: 'nat',
      default: 1000,
      env: 'DETECTOR_CAUGHT_UP_LAG',
    },
  },
  detector: detectorSchema,
};

export type DetectorServiceConfig = ConfigOf<typeof detectorServiceSchema>;
