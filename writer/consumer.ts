import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, EachBatchPayload } from 'kafkajs';
import type { AcknowledgedSender } from '../lib/acknowledged-send';
import { DecodeError } from '../lib/avro';
import { Backoff } from '../lib/backoff';
import { Rejection, sendToDlq } from '../lib/dlq';
import { isRetriable } from '../lib/errors';
import { Logger } from '../lib/log';
import { WriterMetrics } from './metrics';
import { TopicSink } from './sink';

export interface ConsumeOptions {
  dlqTopic: string;
  retryMaxMs: number;
}

/**
 * Handles one partition batch: decode, hand the records to the table's batcher, and only
 * once they are committed in PostgreSQL commit the Kafka offset past them. Undecodable
 * records go to the dead-letter topic first, so the offset never passes a record that is
 * neither stored nor dead-lettered.
 */
export function createBatchHandler(
  sinks: Map<string, TopicSink<unknown>>,
  consumer: Consumer,
  deadLetters: AcknowledgedSender,
  options: ConsumeOptions,
  metrics: WriterMetrics,
  logger: Logger,
) {
  return async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> => {
    if (batch.messages.length === 0) return;
    const sink = sinks.get(batch.topic);
    if (!sink) throw new Error(`no sink for topic ${batch.topic}`);

    await sink.codec.prepare(batch.messages.map((m) => m.value));
    const records: unknown[] = [];
    const rejections: Rejection[] = [];
    for (const message of batch.messages) {
      try {
        records.push(sink.codec.decode(message.value));
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        rejections.push({
          reason: 'undecodable',
          detail: err.message,
          source: `kafka:${batch.topic}/${batch.partition}@${message.offset}`,
          key: message.key,
          value: message.value,
        });
      }
    }

    const backoff = new Backoff({ minMs: 100, maxMs: options.retryMaxMs });
    let dlqSent = false;
    for (;;) {
      try {
        if (!dlqSent) await sendToDlq(deadLetters, options.dlqTopic, rejections);
        dlqSent = true;
        await sink.batcher.write(records);
        break;
      } catch (err) {
        const retriable = isRetriable(err);
        metrics.writeErrors.inc({ table: sink.table.name, retriable: String(retriable) });
        if (!retriable || !isRunning() || isStale()) throw err;
        const delay = backoff.next();
        logger.warn({ err, topic: batch.topic, partition: batch.partition, backoffMs: delay }, 'write failed, retrying');
        await heartbeat().catch(() => undefined);
        await sleep(delay);
      }
    }
    for (const r of rejections) metrics.rejected.inc({ reason: r.reason });

    resolveOffset(batch.lastOffset());
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    const labels = { topic: batch.topic, partition: String(batch.partition) };
    metrics.committedOffset.set(labels, Number(next));
    metrics.lag.set(labels, Math.max(0, Number(batch.highWatermark) - Number(next)));
    await heartbeat();
  };
}
