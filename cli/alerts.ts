import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { AvroCodec, createRegistry, DecodeError } from '../lib/avro';
import { kafkaSchema, loadConfig, registrySchema } from '../lib/config';
import { consumerTimings, createKafka } from '../lib/kafka';
import { createLogger } from '../lib/log';
import { Alert, alertSchemaText } from '../schemas';
import { alertJson, formatAlert } from '../schemas/alert-format';

const alertsSchema = { kafka: kafkaSchema, registry: registrySchema };

/**
 * `iot-pipeline alerts [--json] [--from-beginning]`: tails the alerts topic, one line per
 * alert. The example of an alert subscriber: its own throwaway consumer group, so it
 * never takes work from anyone, and it commits nothing.
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, 'from-beginning': { type: 'boolean' } } });
  const config = loadConfig(alertsSchema);
  const logger = createLogger('alerts', process.env.LOG_LEVEL ?? 'warn');
  const codec = new AvroCodec<Alert>(createRegistry(config.registry.url), alertSchemaText);
  const kafka = createKafka(config.kafka, logger, 'alerts-tail');
  const consumer = kafka.consumer({ groupId: `iot-alerts-tail-${randomBytes(4).toString('hex')}`, ...consumerTimings(config.kafka) });
  const stop = () => void consumer.disconnect().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  await consumer.connect();
  await consumer.subscribe({ topics: [config.kafka.alertsTopic], fromBeginning: values['from-beginning'] ?? false });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      await codec.prepare(batch.messages.map((m) => m.value));
      for (const message of batch.messages) {
        try {
          const alert = codec.decode(message.value);
          process.stdout.write(`${values.json ? alertJson(alert) : formatAlert(alert)}\n`);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          process.stderr.write(`skipped an undecodable record at ${batch.partition}@${message.offset}: ${err.message}\n`);
        }
      }
    },
  });
  if (!values.json) process.stderr.write(`tailing ${config.kafka.alertsTopic} (Ctrl-C stops)\n`);
}
