import { Message } from 'kafkajs';
import type { AcknowledgedSender } from './acknowledged-send';

/** Why and where a payload was rejected; carried as headers so the raw value stays untouched. */
export interface Rejection {
  reason: string;
  detail: string;
  /** Where it came from: `mqtt:<topic>` or `kafka:<topic>/<partition>@<offset>`. */
  source: string;
  key?: string | Buffer | null;
  value: Buffer | null;
  /** Position of the rejected reading in a gateway batch (a JSON array); absent for a whole message. */
  index?: number;
}

export const DLQ_HEADERS = {
  reason: 'x-reject-reason',
  detail: 'x-reject-detail',
  source: 'x-source',
  rejectedAt: 'x-rejected-at',
  /** Only on a reading rejected out of a gateway batch: its 0-based index in the array. */
  index: 'x-batch-index',
} as const;

export function dlqMessage(rejection: Rejection, nowMs = Date.now()): Message {
  const headers: Record<string, string> = {
    [DLQ_HEADERS.reason]: rejection.reason,
    [DLQ_HEADERS.detail]: rejection.detail,
    [DLQ_HEADERS.source]: rejection.source,
    [DLQ_HEADERS.rejectedAt]: new Date(nowMs).toISOString(),
  };
  if (rejection.index !== undefined) headers[DLQ_HEADERS.index] = String(rejection.index);
  return { key: rejection.key ?? null, value: rejection.value, headers };
}

/**
 * Sends rejections to the dead-letter topic; resolves only when every partition they went to
 * was acknowledged by all in-sync replicas (lib/acknowledged-send.ts says why a plain send is
 * not enough).
 */
export async function sendToDlq(sender: AcknowledgedSender, topic: string, rejections: Rejection[]): Promise<void> {
  if (rejections.length === 0) return;
  await sender.send([{ topic, messages: rejections.map((r) => dlqMessage(r)) }]);
}
