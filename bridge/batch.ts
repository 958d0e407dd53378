/**
 * What the bridge does with a gateway batch, as plain functions: the rejection of one element,
 * and the join that confirms an MQTT message only once every record it became is in Kafka.
 */
import type { Rejection } from '../lib/dlq';
import type { RejectReason } from './reading';

/**
 * A callback to give each of `count` records; `done` runs once, after the last of them has
 * settled, with the first error any of them reported (the message then stays unacknowledged
 * and is redelivered whole: the records that did reach Kafka are sent again, and the writer's
 * key on (device_id, time) keeps the table free of doubles).
 */
export function settleAll(count: number, done: (err?: Error) => void): (err?: Error) => void {
  let left = count;
  let first: Error | undefined;
  return (err) => {
    if (left <= 0) return;
    if (err !== undefined && first === undefined) first = err;
    if (--left === 0) done(first);
  };
}

/**
 * The dead-letter record of element `index` of a batch: its own text as the device wrote it
 * (cut to `maxValueBytes`, the single-payload limit, so that it always fits a produce
 * request), the reason, and a detail that names the element.
 */
export function elementRejection(
  rejected: { reason: RejectReason; detail: string },
  index: number,
  elementText: string | undefined,
  mqttTopic: string,
  maxValueBytes: number,
): Rejection {
  const bytes = Buffer.from(elementText ?? '', 'utf8');
  const value = bytes.length > maxValueBytes ? bytes.subarray(0, maxValueBytes) : bytes;
  return { reason: rejected.reason, detail: `element ${index}: ${rejected.detail}`, source: `mqtt:${mqttTopic}`, value, index };
}
