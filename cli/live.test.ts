import { drained, figuresOf, liveLine, simulatorReport, sumSamples } from './live';

const bridge = `# HELP iot_bridge_readings_produced_total Valid readings acknowledged by Kafka on the telemetry topic
# TYPE iot_bridge_readings_produced_total counter
iot_bridge_readings_produced_total{service="bridge"} 12000
iot_bridge_messages_rejected_total{reason="invalid_json",service="bridge"} 2
iot_bridge_messages_rejected_total{reason="topic_mismatch",service="bridge"} 1
iot_bridge_messages_received_total{service="bridge"} 12003
`;
const writer = `iot_writer_rows_total{table="device_telemetry",result="inserted",service="writer"} 11950
iot_writer_rows_total{table="device_telemetry",result="skipped",service="writer"} 4
iot_writer_rows_total{table="device_alerts",result="inserted",service="writer"} 3
iot_writer_batch_rows_bucket{le="+Inf",table="device_telemetry",service="writer"} 40
`;
const detector =
  'iot_detector_alerts_total{kind="anomaly",service="detector"} 2\niot_detector_alerts_total{kind="low_battery",service="detector"} 1\n';
const progress = (published: number, acked: number) => `published ${published}  acked ${acked}  in-flight 3  20/s published  20/s acked`;
const summary = JSON.stringify({
  level: 30,
  name: 'simulator',
  readings: 600,
  published: 600,
  acked: 600,
  failed: 0,
  firstTimestampMs: 1,
  lastTimestampMs: 2,
  msg: 'simulator finished',
});

describe('sumSamples', () => {
  it('sums a counter over its label sets, filtered by the labels given, and matches names exactly', () => {
    expect(sumSamples(bridge, 'iot_bridge_messages_rejected_total')).toBe(3);
    expect(sumSamples(bridge, 'iot_bridge_messages_rejected_total', { reason: 'topic_mismatch' })).toBe(1);
    expect(sumSamples(bridge, 'iot_bridge_messages_received')).toBe(0);
    expect(sumSamples(writer, 'iot_writer_rows_total', { table: 'device_telemetry' })).toBe(11954);
  });
});

describe('simulatorReport', () => {
  it('takes the newest progress line, or the summary once the simulator has finished', () => {
    expect(simulatorReport(`{"msg":"connected"}\n${progress(10, 8)}\n${progress(30, 29)}\n`)).toEqual({ published: 30, acked: 29 });
    const final = simulatorReport(`${progress(580, 570)}\n${summary}\n`);
    expect(final).toMatchObject({
      published: 600,
      acked: 600,
      summary: { readings: 600, failed: 0, firstTimestampMs: 1, lastTimestampMs: 2 },
    });
    expect(simulatorReport('{"msg":"starting"}\n')).toBeUndefined();
  });
});

describe('liveLine', () => {
  it('shows totals, the publish rate over the last tick, and "-" for a service that does not answer', () => {
    const before = figuresOf({ simulatorLog: progress(11000, 11000) });
    const now = figuresOf({ simulatorLog: progress(12000, 12000), bridge, writer, detector });
    expect(liveLine(now, before, 1, true)).toBe(
      'published 12000 (1000/s) | in kafka 12000 | written 11950 (4 already stored) | alerts 3 | dlq 3',
    );
    expect(liveLine(figuresOf({ writer }), undefined, 1, false)).toBe(
      'published - | in kafka - | written 11950 (4 already stored) | dlq 0',
    );
    expect(liveLine({}, undefined, 1, true)).toBe('published - | in kafka - | written - | alerts - | dlq -');
  });
});

describe('drained', () => {
  const more = writer.replace('11950', '11996');
  it('once every message the broker acknowledged is in Kafka or dead-lettered, and every reading in Kafka is stored', () => {
    expect(drained(figuresOf({ simulatorLog: progress(12003, 12003), bridge, writer: more }))).toBe(true);
  });

  it('not while the bridge has messages to take, the writer readings to store, or a figure is missing', () => {
    expect(drained(figuresOf({ simulatorLog: progress(12004, 12004), bridge, writer: more }))).toBe(false);
    expect(drained(figuresOf({ simulatorLog: progress(12003, 12003), bridge, writer }))).toBe(false);
    expect(drained(figuresOf({ simulatorLog: progress(12003, 12003), writer: more }))).toBe(false);
  });
});
