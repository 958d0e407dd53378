import { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { AcknowledgedSender } from '../lib/acknowledged-send';
import { AvroCodec, DecodeError } from '../lib/avro';
import { Backoff } from '../lib/backoff';
import { Rejection, sendToDlq } from '../lib/dlq';
import { Logger } from '../lib/log';
import type { Alert } from '../schemas';
import { NotifyMetrics } from './metrics';
import { Attempt, judge, WebhookFormat, webhookBody } from './webhook';

export interface NotifierOptions {
  webhookUrl: string;
  format: WebhookFormat;
  timeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  rejectAttempts: number;
  deadLetterTopic: string;
}

export interface NotifierClients {
  consumer: Consumer;
  dlq: AcknowledgedSender;
  codec: AvroCodec<Alert>;
  post: (url: string, body: string, idempotencyKey: string, timeoutMs: number) => Promise<Attempt>;
}

/**
 * The notifier's batch handler. Alerts of a partition are delivered one after another, in
 * order, each retried until the webhook answers 2xx (or keeps refusing it, when it is parked in
 * the dead-letter topic); only then is its offset committed. So a notifier killed at any moment
 * loses none: the next one resumes at the first alert not yet done, and at worst repeats the one
 * in flight, with the same Idempotency-Key.
 */
export function createNotifier(clients: NotifierClients, options: NotifierOptions, metrics: NotifyMetrics, logger: Logger) {
  return async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> => {
    const keepGoing = () => isRunning() && !isStale();
    const { codec } = clients;
    await codec.prepare(batch.messages.map((m) => m.value));
    for (const message of batch.messages) {
      if (!keepGoing()) return;
      const source = `kafka:${batch.topic}/${batch.partition}@${message.offset}`;
      let alert: Alert | undefined;
      try {
        alert = codec.decode(message.value);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        if (
          !(await park(
            { reason: 'undecodable', detail: err.message, source, key: message.key, value: message.value },
            keepGoing,
            heartbeat,
          ))
        )
          return;
      }
      if (alert) {
        const outcome = await deliver(alert, keepGoing, heartbeat);
        // Given up half-way (a stop, a rebalance): uncommitted, so whoever has the partition next sends it again.
        if (outcome === 'interrupted') return;
        if (outcome === 'delivered') metrics.alerts.inc({ outcome: 'delivered' });
        else if (!(await park(rejection(message, source, outcome), keepGoing, heartbeat))) return;
      }
      const next = (BigInt(message.offset) + 1n).toString();
      await clients.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      resolveOffset(message.offset);
      metrics.lag.set({ partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))));
      await heartbeat();
    }
  };

  /** POSTs until a 2xx ('delivered') or `rejectAttempts` refusals (returns the last reason), or until told to stop. */
  async function deliver(
    alert: Alert,
    keepGoing: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<'delivered' | 'interrupted' | { reason: string; attempts: number }> {
    const body = webhookBody(alert, options.format);
    const started = performance.now();
    const backoff = new Backoff({ minMs: options.retryMinMs, maxMs: options.retryMaxMs });
    let failures = 0;
    let refusals = 0;
    for (;;) {
      const v = judge(await clients.post(options.webhookUrl, body, alert.alert_id, options.timeoutMs));
      metrics.attempts.inc({ result: v.result });
      if (v.verdict === 'delivered') {
        metrics.deliverySeconds.observe((performance.now() - started) / 1000);
        return 'delivered';
      }
      failures++;
      if (v.verdict === 'rejected' && ++refusals >= options.rejectAttempts) return { reason: v.reason, attempts: failures };
      const waitMs = backoff.next();
      logger.warn(
        { alertId: alert.alert_id, verdict: v.verdict, reason: v.reason, attempt: failures, retryInMs: waitMs },
        'webhook did not take the alert',
      );
      if (!(await pause(waitMs, keepGoing, heartbeat))) return 'interrupted';
    }
  }

  /** Sends a dead letter (acks from every partition), retried while the consumer keeps the partition; false if told to stop. */
  async function park(r: Rejection, keepGoing: () => boolean, heartbeat: () => Promise<void>): Promise<boolean> {
    const backoff = new Backoff({ minMs: options.retryMinMs, maxMs: options.retryMaxMs });
    for (;;) {
      try {
        await sendToDlq(clients.dlq, options.deadLetterTopic, [r]);
        metrics.alerts.inc({ outcome: 'dead_lettered' });
        logger.warn({ source: r.source, reason: r.reason, detail: r.detail }, 'alert parked in the dead-letter topic');
        return true;
      } catch (err) {
        logger.warn({ err, topic: options.deadLetterTopic }, 'sending a dead letter failed, retrying');
        if (!(await pause(backoff.next(), keepGoing, heartbeat))) return false;
      }
    }
  }
}

function rejection(message: KafkaMessage, source: string, outcome: { reason: string; attempts: number }): Rejection {
  return {
    reason: 'webhook-rejected',
    detail: `${outcome.reason} (after ${outcome.attempts} attempts)`,
    source,
    key: message.key,
    value: message.value,
  };
}

/** Waits `ms`, heartbeating, in slices so a stop or a rebalance is noticed within a second; false if one came. */
async function pause(ms: number, keepGoing: () => boolean, heartbeat: () => Promise<void>): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (!keepGoing()) return false;
    const left = until - Date.now();
    if (left <= 0) return true;
    await new Promise((r) => setTimeout(r, Math.min(left, 1000)));
    await heartbeat().catch(() => undefined);
  }
}
