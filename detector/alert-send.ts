import type { AcknowledgedSender } from '../lib/acknowledged-send';
import type { AvroCodec } from '../lib/avro';
import type { Alert } from '../schemas';

/**
 * Sends alerts to the alerts topic, keyed by device so one device's alerts stay in order.
 * Resolves only when Kafka acknowledged every partition they went to: a plain KafkaJS send can
 * report success for a partition it never sent (lib/acknowledged-send.ts), and the readings
 * that raised these alerts are committed once this resolves, so a lost alert would never be
 * raised again.
 */
export function sendAlerts(sender: AcknowledgedSender, codec: AvroCodec<Alert>, topic: string, alerts: readonly Alert[]): Promise<void> {
  return sender.send([{ topic, messages: alerts.map((a) => ({ key: a.device_id, value: codec.encode(a) })) }]);
}
