import client from 'prom-client';

export function bridgeMetrics(registry: client.Registry) {
  return {
    received: new client.Counter({
      name: 'iot_bridge_messages_received_total',
      help: 'MQTT messages handed to the bridge (redeliveries included)',
      registers: [registry],
    }),
    produced: new client.Counter({
      name: 'iot_bridge_readings_produced_total',
      help: 'Valid readings acknowledged by Kafka on the telemetry topic',
      registers: [registry],
    }),
    rejected: new client.Counter({
      name: 'iot_bridge_messages_rejected_total',
      help: 'Messages (or readings of a gateway batch) sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    batchReadings: new client.Histogram({
      name: 'iot_bridge_batch_readings',
      help: 'Readings per gateway batch (MQTT messages holding a JSON array)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    produceFailures: new client.Counter({
      name: 'iot_bridge_produce_failures_total',
      help: 'Records Kafka did not take; their messages stay unacknowledged and are redelivered',
      registers: [registry],
    }),
    produceSeconds: new client.Histogram({
      name: 'iot_bridge_produce_seconds',
      help: 'Duration of one produce request (acks=all)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    produceBatch: new client.Histogram({
      name: 'iot_bridge_produce_batch_records',
      help: 'Records per produce request',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    handoffSeconds: new client.Histogram({
      name: 'iot_bridge_handoff_seconds',
      help: 'From MQTT receipt to Kafka acknowledgement, per message',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

export type BridgeMetrics = ReturnType<typeof bridgeMetrics>;
