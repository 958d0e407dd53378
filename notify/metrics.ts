import client from 'prom-client';

export function notifyMetrics(registry: client.Registry) {
  return {
    alerts: new client.Counter({
      name: 'iot_notify_alerts_total',
      help: 'Alerts done with, by outcome: delivered (a 2xx) or dead_lettered (rejected, or undecodable)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    attempts: new client.Counter({
      name: 'iot_notify_attempts_total',
      help: 'POSTs to the webhook, by result: 2xx, 4xx, 5xx, timeout, network, other',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    deliverySeconds: new client.Histogram({
      name: 'iot_notify_delivery_seconds',
      help: 'From the first POST of an alert to its 2xx, retries included',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    lag: new client.Gauge({
      name: 'iot_notify_consumer_lag',
      help: 'Alerts behind the partition high watermark after the last one done',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
  };
}

export type NotifyMetrics = ReturnType<typeof notifyMetrics>;
