import fc from 'fast-check';
import {
  DEFAULT_READING_RULES,
  parseReading,
  parseIsoMicros,
  REJECT_REASONS,
  roundHalfEven,
  type Reading,
  type RejectReason,
} from './reading';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0); // 2024-06-01T12:00:00Z, the bridge's receive time
const NOW_S = NOW / 1000;
const DEFAULT_TOPIC = 'portfolio/telemetry';
const rules = DEFAULT_READING_RULES;

const base = { device_id: 'dev-001', firmware: '1.0.0', temperature: 25.5, humidity: 60, battery: 85, timestamp: NOW_S };

function parseJson(doc: unknown, topic = DEFAULT_TOPIC) {
  return parseReading(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)), topic, NOW, rules);
}

function without(key: keyof typeof base) {
  const copy: Record<string, unknown> = { ...base };
  delete copy[key];
  return copy;
}

describe('parseReading accepts', () => {
  it('the example payload', () => {
    const seed = `{
      "device_id": "test-device-001",
      "firmware": "1.0.0",
      "temperature": 25.5,
      "humidity": 60.0,
      "battery": 85.0,
      "timestamp": 1234567890
    }`;
    expect(parseJson(seed)).toEqual({
      ok: true,
      reading: {
        device_id: 'test-device-001',
        time: 1234567890_000000,
        firmware: '1.0.0',
        temperature: 25.5,
        humidity: 60,
        battery: 85,
        seq: null,
        ingested_at: NOW,
      },
    });
  });

  it('produces the fields in Avro order', () => {
    const r = parseJson({ ...base, seq: 7 });
    expect(r.ok && Object.keys(r.reading)).toEqual([
      'device_id',
      'time',
      'firmware',
      'temperature',
      'humidity',
      'battery',
      'seq',
      'ingested_at',
    ]);
  });

  // Every timestamp form, and the microsecond it must land on.
  it.each<[string, number | string, number]>([
    ['integer seconds', 1717243200, 1717243200_000000],
    ['fractional seconds', 1717243200.5, 1717243200_500000],
    ['seconds with microseconds', 1717243200.123456, 1717243200_123456],
    ['integer milliseconds', 1717243200123, 1717243200_123000],
    ['milliseconds with microseconds', 1717243200123.456, 1717243200_123456],
    ['seconds at the 2000-01-01 boundary', 946684800, 946684800_000000],
    ['ISO 8601 UTC', '2024-06-01T12:00:00Z', 1717243200_000000],
    ['ISO 8601 with milliseconds', '2024-06-01T12:00:00.123Z', 1717243200_123000],
    ['ISO 8601 with microseconds and offset', '2024-06-01T14:00:00.123456+02:00', 1717243200_123456],
    ['ISO 8601 with a negative offset without colon', '2024-06-01T06:30:00.5-0530', 1717243200_500000],
    ['ISO 8601 with an hour-only offset', '2024-06-01T17:00:00+05', 1717243200_000000],
    ['ISO 8601 lower case and comma fraction', '2024-06-01t12:00:00,25z', 1717243200_250000],
    ['ISO 8601 with a space separator', '2024-06-01 12:00:00Z', 1717243200_000000],
    ['ISO 8601 nanoseconds, tie rounds to even (down)', '2024-06-01T12:00:00.1234565Z', 1717243200_123456],
    ['ISO 8601 nanoseconds, tie rounds to even (up)', '2024-06-01T12:00:00.1234575Z', 1717243200_123458],
    ['ISO 8601 nanoseconds, below the tie', '2024-06-01T12:00:00.123456499Z', 1717243200_123456],
    ['ISO 8601 leap day', '2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29) * 1000],
    ['exactly the allowed clock skew ahead', NOW_S + 300, (NOW + 300_000) * 1000],
  ])('timestamp as %s', (_name, timestamp, time) => {
    const r = parseJson({ ...base, timestamp });
    expect(r).toEqual({ ok: true, reading: expect.objectContaining({ time }) });
    expect(r.ok && Number.isSafeInteger(r.reading.time)).toBe(true);
  });

  it('seconds and milliseconds forms of one instant give one identity', () => {
    const a = parseJson({ ...base, timestamp: 1717243200.000001 });
    const b = parseJson({ ...base, timestamp: 1717243200000.001 });
    const c = parseJson({ ...base, timestamp: '2024-06-01T12:00:00.000001Z' });
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (a.ok && b.ok && c.ok) {
      expect(a.reading.time).toBe(1717243200_000001);
      expect(b.reading.time).toBe(a.reading.time);
      expect(c.reading.time).toBe(a.reading.time);
    }
  });

  it('null and absent optional fields as null, with one sensor enough', () => {
    expect(parseJson({ device_id: 'd1', timestamp: NOW_S, battery: 0, firmware: null, humidity: null })).toEqual({
      ok: true,
      reading: {
        device_id: 'd1',
        time: NOW * 1000,
        firmware: null,
        temperature: null,
        humidity: null,
        battery: 0,
        seq: null,
        ingested_at: NOW,
      },
    });
  });

  it.each([
    ['temperature', -60],
    ['temperature', 150],
    ['humidity', 0],
    ['humidity', 100],
    ['battery', 100],
  ])('%s at the range boundary %d', (field, value) => {
    expect(parseJson({ ...base, [field]: value }).ok).toBe(true);
  });

  it('a sequence number', () => {
    const r = parseJson({ ...base, seq: 0 });
    expect(r.ok && r.reading.seq).toBe(0);
    const big = parseJson({ ...base, seq: Number.MAX_SAFE_INTEGER });
    expect(big.ok && big.reading.seq).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a per-device topic without device_id: the topic names the device', () => {
    const r = parseJson(without('device_id'), 'devices/sensor.7:a_b/telemetry');
    expect(r.ok && r.reading.device_id).toBe('sensor.7:a_b');
  });

  it('a per-device topic whose payload names the same device', () => {
    expect(parseJson(base, 'devices/dev-001/telemetry').ok).toBe(true);
  });

  it('unknown extra fields, ignored', () => {
    const r = parseJson({ ...base, location: { lat: 1, lon: 2 }, rssi: -70, extra: [1, 2, 3] });
    expect(r.ok && Object.keys(r.reading)).not.toContain('rssi');
  });

  it('a repeated key inside a nested extra field (nested values are dropped)', () => {
    const r = parseJson(`{"device_id":"d1","location":{"lat":1,"lat":2},"temperature":21.5,"timestamp":${NOW_S}}`);
    expect(r.ok && r.reading.temperature).toBe(21.5);
  });

  it('nesting at exactly the depth limit', () => {
    const nested = '['.repeat(rules.maxNestingDepth - 1) + ']'.repeat(rules.maxNestingDepth - 1);
    expect(parseJson(`{"device_id":"d1","temperature":1,"timestamp":${NOW_S},"x":${nested}}`).ok).toBe(true);
  });

  it('a __proto__ key without polluting anything', () => {
    const r = parseJson(`{"__proto__":{"temperature":99},"device_id":"d1","humidity":5,"timestamp":${NOW_S}}`);
    expect(r.ok && r.reading.temperature).toBeNull();
    expect(({} as Record<string, unknown>).temperature).toBeUndefined();
  });

  it('a byte-order mark and surrounding whitespace', () => {
    const r = parseReading(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(` ${JSON.stringify(base)}\n`)]),
      DEFAULT_TOPIC,
      NOW,
      rules,
    );
    expect(r.ok).toBe(true);
  });

  it('a payload of exactly the size limit', () => {
    const json = JSON.stringify(base);
    const padded = json.slice(0, -1) + ' '.repeat(rules.maxPayloadBytes - json.length) + '}';
    expect(Buffer.byteLength(padded)).toBe(rules.maxPayloadBytes);
    expect(parseJson(padded).ok).toBe(true);
  });

  it('a configured default topic', () => {
    const r = parseReading(Buffer.from(JSON.stringify(base)), 'site/a/telemetry', NOW, { ...rules, defaultTopic: 'site/a/telemetry' });
    expect(r.ok).toBe(true);
  });

  it('a configured per-device topic prefix', () => {
    const custom = { ...rules, deviceTopicPrefix: 'site/a/dev/' };
    const r = parseReading(Buffer.from(JSON.stringify(without('device_id'))), 'site/a/dev/d7/telemetry', NOW, custom);
    expect(r.ok && r.reading.device_id).toBe('d7');
    expect(parseReading(Buffer.from(JSON.stringify(base)), 'devices/dev-001/telemetry', NOW, custom)).toMatchObject({
      ok: false,
      reason: 'unknown_topic',
    });
  });

  it('a fractional receive time, floored to whole milliseconds', () => {
    const r = parseReading(Buffer.from(JSON.stringify(base)), DEFAULT_TOPIC, NOW + 0.75, rules);
    expect(r.ok && r.reading.ingested_at).toBe(NOW);
  });
});

describe('parseReading rejects', () => {
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  const cases: [RejectReason, string, string | Buffer | object, string?, RegExp?][] = [
    ['payload_too_large', 'a payload over the limit', Buffer.alloc(rules.maxPayloadBytes + 1, 0x20), undefined, /^payload: 16385 bytes/],
    ['invalid_json', 'truncated JSON', '{"device_id": "d1"'],
    ['invalid_json', 'an empty payload', ''],
    ['invalid_json', 'plain text', 'temperature=21'],
    ['invalid_json', 'bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), undefined, /UTF-8/],
    ['invalid_json', 'NaN literal', `{"device_id":"d1","temperature":NaN,"timestamp":${NOW_S}}`],
    ['not_an_object', 'an array', '[1,2]', undefined, /got array/],
    ['not_an_object', 'a number', '42', undefined, /got number/],
    ['not_an_object', 'null', 'null', undefined, /got null/],
    ['not_an_object', 'a string', '"hello"'],
    ['nesting_too_deep', 'deeply nested arrays', deep, undefined, /deeper than 32 levels/],
    ['nesting_too_deep', 'one level over the limit', '['.repeat(33) + ']'.repeat(33)],
    ['nesting_too_deep', 'deep nesting inside a string-laden object', `{"a":"[[[","b":${'{"c":'.repeat(40)}1${'}'.repeat(40)}}`],
    [
      'duplicate_key',
      'a repeated device_id',
      `{"device_id":"a","device_id":"b","battery":1,"timestamp":${NOW_S}}`,
      undefined,
      /^payload: key "device_id" appears more than once$/,
    ],
    [
      'duplicate_key',
      'a repeated sensor, the first invalid',
      `{"device_id":"d1","temperature":"bad","temperature":21.5,"timestamp":${NOW_S}}`,
    ],
    [
      'duplicate_key',
      'a key repeated through an escape',
      `{"device_id":"a","device\\u005fid":"b","battery":1,"timestamp":${NOW_S}}`,
      undefined,
      /"device_id"/,
    ],
    ['missing_field', 'no device_id on the default topic', without('device_id'), undefined, /^device_id:/],
    ['missing_field', 'null device_id on the default topic', { ...base, device_id: null }],
    ['missing_field', 'no timestamp', without('timestamp'), undefined, /^timestamp:/],
    ['missing_field', 'no sensor value', { device_id: 'd1', timestamp: NOW_S, firmware: '1' }, undefined, /at least one/],
    ['missing_field', 'every sensor null', { ...base, temperature: null, humidity: null, battery: null }],
    ['wrong_type', 'temperature as a string', { ...base, temperature: '25.5' }, undefined, /^temperature: expected a number, got string$/],
    ['wrong_type', 'humidity as an array', { ...base, humidity: [60] }, undefined, /^humidity: expected a number, got array$/],
    ['wrong_type', 'battery as an object', { ...base, battery: { v: 1 } }, undefined, /got object/],
    ['wrong_type', 'battery as a boolean', { ...base, battery: true }, undefined, /got boolean/],
    ['nesting_too_deep', 'deeply nested temperature', `{"device_id":"d1","timestamp":${NOW_S},"temperature":${deep}}`],
    ['wrong_type', 'nested temperature', `{"device_id":"d1","timestamp":${NOW_S},"temperature":[[21]]}`],
    ['wrong_type', 'device_id as a number', { ...base, device_id: 42 }, undefined, /^device_id: expected a string, got number$/],
    ['wrong_type', 'timestamp as a boolean', { ...base, timestamp: true }, undefined, /^timestamp:/],
    ['wrong_type', 'timestamp as an object', { ...base, timestamp: { seconds: 1 } }],
    ['wrong_type', 'firmware as a number', { ...base, firmware: 1.2 }, undefined, /^firmware:/],
    ['wrong_type', 'seq as a string', { ...base, seq: '1' }, undefined, /^seq:/],
    ['wrong_type', 'seq with a fraction', { ...base, seq: 1.5 }, undefined, /^seq:/],
    ['out_of_range', 'temperature above 150', { ...base, temperature: 150.01 }, undefined, /^temperature: 150.01 is outside -60..150$/],
    ['out_of_range', 'temperature below -60', { ...base, temperature: -60.5 }],
    [
      'out_of_range',
      'temperature that parses to Infinity',
      `{"device_id":"d1","temperature":1e400,"timestamp":${NOW_S}}`,
      undefined,
      /Infinity/,
    ],
    ['out_of_range', 'humidity below 0', { ...base, humidity: -0.1 }],
    ['out_of_range', 'humidity above 100', { ...base, humidity: 100.5 }],
    ['out_of_range', 'battery above 100', { ...base, battery: 101 }, undefined, /^battery:/],
    ['out_of_range', 'firmware too long', { ...base, firmware: 'v'.repeat(33) }, undefined, /^firmware: 33 characters/],
    ['out_of_range', 'firmware with a control character', { ...base, firmware: '1.0\u0007' }, undefined, /non-printable/],
    ['out_of_range', 'firmware with a non-ASCII character', { ...base, firmware: '1.0é' }],
    ['out_of_range', 'negative seq', { ...base, seq: -1 }, undefined, /^seq:/],
    ['out_of_range', 'seq beyond 2^53', { ...base, seq: 2 ** 53 }],
    ['out_of_range', 'seq that parses to Infinity', `{"device_id":"d1","battery":1,"seq":1e400,"timestamp":${NOW_S}}`],
    ['invalid_device_id', 'an empty device_id', { ...base, device_id: '' }],
    ['invalid_device_id', 'a device_id starting with a dash', { ...base, device_id: '-dev' }],
    ['invalid_device_id', 'a device_id of 65 characters', { ...base, device_id: 'd'.repeat(65) }],
    ['invalid_device_id', 'a device_id with a newline', { ...base, device_id: 'dev\n001' }, undefined, /\\n/],
    ['invalid_device_id', 'a device_id with NUL', { ...base, device_id: 'dev\u0000' }],
    ['invalid_device_id', 'a device_id that looks like SQL', { ...base, device_id: "x'; DROP TABLE device_telemetry;--" }],
    ['invalid_device_id', 'a device_id with a slash', { ...base, device_id: 'a/b' }],
    ['invalid_device_id', 'a device_id with a non-ASCII letter', { ...base, device_id: 'dév' }],
    ['invalid_device_id', 'a topic whose id is invalid', without('device_id'), 'devices/-x/telemetry', /^topic:/],
    ['invalid_device_id', 'a topic with a blank id', without('device_id'), 'devices/ /telemetry'],
    ['invalid_device_id', 'a topic with an empty id', without('device_id'), 'devices//telemetry'],
    ['invalid_timestamp', 'a time before 2000', { ...base, timestamp: 946684799 }, undefined, /before 2000-01-01/],
    ['invalid_timestamp', 'a negative time', { ...base, timestamp: -1 }],
    ['invalid_timestamp', 'milliseconds before 2000', { ...base, timestamp: 946684799999 }],
    ['invalid_timestamp', 'a timestamp that parses to Infinity', `{"device_id":"d1","battery":1,"timestamp":1e400}`, undefined, /finite/],
    ['invalid_timestamp', 'ISO without a zone', { ...base, timestamp: '2024-06-01T12:00:00' }, undefined, /no zone offset \(ambiguous\)/],
    ['invalid_timestamp', 'ISO date only', { ...base, timestamp: '2024-06-01' }],
    ['invalid_timestamp', 'ISO with 30 February', { ...base, timestamp: '2023-02-29T00:00:00Z' }, undefined, /not a valid date-time/],
    ['invalid_timestamp', 'ISO hour 24', { ...base, timestamp: '2024-06-01T24:00:00Z' }],
    ['invalid_timestamp', 'ISO leap second', { ...base, timestamp: '2016-12-31T23:59:60Z' }],
    ['invalid_timestamp', 'ISO offset beyond 23 hours', { ...base, timestamp: '2024-06-01T12:00:00+24:00' }, undefined, /zone offset/],
    ['invalid_timestamp', 'ISO with a year before 100', { ...base, timestamp: '0099-06-01T12:00:00Z' }, undefined, /0099-06-01/],
    ['invalid_timestamp', 'ISO with too many fraction digits', { ...base, timestamp: '2024-06-01T12:00:00.1234567890Z' }],
    ['invalid_timestamp', 'a number in a string', { ...base, timestamp: '1717243200' }],
    ['invalid_timestamp', 'free text', { ...base, timestamp: 'yesterday' }],
    ['timestamp_in_future', 'seconds more than the skew ahead', { ...base, timestamp: NOW_S + 301 }, undefined, /301 s ahead/],
    ['timestamp_in_future', 'milliseconds more than the skew ahead', { ...base, timestamp: NOW + 300_001 }],
    ['timestamp_in_future', 'ISO ten minutes ahead', { ...base, timestamp: '2024-06-01T12:10:00Z' }],
    ['timestamp_in_future', 'a huge millisecond value', { ...base, timestamp: 1e300 }],
    ['topic_mismatch', 'a payload naming another device', base, 'devices/dev-002/telemetry', /"dev-001".*"dev-002"/],
    ['unknown_topic', 'another topic', base, 'other/telemetry'],
    ['unknown_topic', 'a nested device topic', base, 'devices/a/b/telemetry'],
    ['unknown_topic', 'a device status topic', base, 'devices/dev-001/status'],
    ['unknown_topic', 'the default topic with a suffix', base, 'portfolio/telemetry/x'],
    ['unknown_topic', 'a device topic without an id', base, 'devices/telemetry'],
  ];

  it.each(cases)('%s: %s', (reason, _name, input, topic = DEFAULT_TOPIC, detail = /\S/) => {
    const payload = Buffer.isBuffer(input) ? input : Buffer.from(typeof input === 'string' ? input : JSON.stringify(input));
    const r = parseReading(payload, topic, NOW, rules);
    expect(r).toEqual({ ok: false, reason, detail: expect.stringMatching(detail) });
  });

  it('covers every reason (those of gateway batches alone in batch.test.ts)', () => {
    expect(new Set([...cases.map((c) => c[0]), 'too_many_readings', 'empty_batch'])).toEqual(new Set(REJECT_REASONS));
  });

  it.each([
    ['a long device_id with control characters', JSON.stringify({ ...base, device_id: 'x\u0000\r\n'.repeat(5000) })],
    ['invalid JSON with control characters', '\u0001\u0002\r\n\u001b[31m' + 'x'.repeat(5000)],
    ['an unknown topic', JSON.stringify(base), 'a/\u0000/'.repeat(100)],
  ])('keeps details short and escaped: %s', (_name, payload, topic = DEFAULT_TOPIC) => {
    const r = parseReading(Buffer.from(payload), topic, NOW, rules);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.detail.length).toBeLessThan(300);
      // eslint-disable-next-line no-control-regex -- control characters are what must not be there
      expect(r.detail).not.toMatch(/[\u0000-\u001f]/);
    }
  });
});

describe('helpers', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, -0],
    [-1.5, -2],
    [2.4999, 2],
    [2.5001, 3],
    [7, 7],
  ])('roundHalfEven(%d) = %d', (x, expected) => {
    expect(roundHalfEven(x)).toBe(expected);
  });

  it('parseIsoMicros names what is wrong', () => {
    expect(parseIsoMicros('2024-06-01T12:00:00Z')).toBe(1717243200_000000);
    expect(parseIsoMicros('2024-13-01T12:00:00Z')).toMatch(/not a valid date-time/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const TOPICS = [DEFAULT_TOPIC, 'devices/dev-001/telemetry', 'devices/x/telemetry', 'other', ''];
const anyTopic = fc.oneof(fc.constantFrom(...TOPICS), fc.string());
const knownFields = fc.record(
  {
    device_id: fc.oneof(fc.jsonValue(), fc.constant('dev-001'), fc.string()),
    timestamp: fc.oneof(fc.jsonValue(), fc.double(), fc.integer(), fc.constant(NOW_S), fc.string()),
    firmware: fc.jsonValue(),
    temperature: fc.oneof(fc.jsonValue(), fc.double()),
    humidity: fc.oneof(fc.jsonValue(), fc.double()),
    battery: fc.oneof(fc.jsonValue(), fc.double()),
    seq: fc.oneof(fc.jsonValue(), fc.integer()),
  },
  { requiredKeys: [] },
);

/** Whatever comes in: a result of the right shape, never an exception. */
function assertWellFormed(payload: Buffer, topic: string): void {
  const r = parseReading(payload, topic, NOW, rules);
  if (r.ok) {
    const x = r.reading;
    expect(rules.deviceIdPattern.test(x.device_id)).toBe(true);
    expect(Number.isSafeInteger(x.time)).toBe(true);
    expect(x.temperature !== null || x.humidity !== null || x.battery !== null).toBe(true);
    for (const v of [x.temperature, x.humidity, x.battery]) expect(v === null || Number.isFinite(v)).toBe(true);
  } else {
    expect(REJECT_REASONS).toContain(r.reason);
    expect(typeof r.detail).toBe('string');
    expect(r.detail.length).toBeGreaterThan(0);
  }
}

describe('parseReading properties', () => {
  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), anyTopic, (bytes, topic) => assertWellFormed(Buffer.from(bytes), topic)));
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 512 }), anyTopic, (s, topic) => assertWellFormed(Buffer.from(s), topic)));
  });

  it('never throws on arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), anyTopic, (v, topic) => assertWellFormed(Buffer.from(JSON.stringify(v)), topic)));
  });

  it('never throws on objects with the known fields holding anything', () => {
    fc.assert(
      fc.property(
        knownFields,
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
        fc.constantFrom(...TOPICS),
        (known, extra, topic) => assertWellFormed(Buffer.from(JSON.stringify({ ...extra, ...known })), topic),
      ),
    );
  });

  it('round-trips every valid reading through the device JSON', () => {
    fc.assert(
      fc.property(validMessage(), ({ json, topic, expected }) => {
        expect(parseReading(Buffer.from(json), topic, NOW, rules)).toEqual({ ok: true, reading: expected });
      }),
      { numRuns: 2000 },
    );
  });
});

const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
/** A field that may be absent (undefined), explicitly null, or a value. */
const optional = <T>(arb: fc.Arbitrary<T>) => fc.oneof(fc.constant(undefined), fc.constant(null), arb);
const sensorValue = (min: number, max: number) => optional(fc.double({ min, max, noNaN: true }).map((v) => (v === 0 ? 0 : v)));

/** A valid reading, the JSON a device would send for it, and the topic it is sent on. */
function validMessage() {
  return fc
    .record({
      device_id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/),
      time: fc.integer({ min: rules.earliestTimestampMs * 1000, max: (NOW + rules.maxClockSkewMs) * 1000 }),
      form: fc.constantFrom('seconds', 'milliseconds', 'iso'),
      offsetMinutes: fc.integer({ min: -14 * 60, max: 14 * 60 }),
      firmware: optional(fc.string({ unit: printableAscii, maxLength: 32 })),
      temperature: sensorValue(-60, 150),
      humidity: sensorValue(0, 100),
      battery: sensorValue(0, 100),
      seq: optional(fc.maxSafeNat()),
      route: fc.constantFrom('default', 'device topic with id', 'device topic without id'),
      extra: fc.dictionary(
        fc.string().filter((k) => !['device_id', 'timestamp', 'firmware', 'temperature', 'humidity', 'battery', 'seq'].includes(k)),
        fc.jsonValue(),
        { maxKeys: 2 },
      ),
    })
    .filter((g) => g.temperature != null || g.humidity != null || g.battery != null)
    .map((g) => {
      const timestamp =
        g.form === 'seconds' ? g.time / 1e6 : g.form === 'milliseconds' ? g.time / 1e3 : isoWithOffset(g.time, g.offsetMinutes);
      const doc: Record<string, unknown> = {
        ...g.extra,
        timestamp,
        firmware: g.firmware,
        temperature: g.temperature,
        humidity: g.humidity,
        battery: g.battery,
        seq: g.seq,
      };
      if (g.route !== 'device topic without id') doc.device_id = g.device_id;
      const topic = g.route === 'default' ? DEFAULT_TOPIC : `devices/${g.device_id}/telemetry`;
      const expected: Reading = {
        device_id: g.device_id,
        time: g.time,
        firmware: g.firmware ?? null,
        temperature: g.temperature ?? null,
        humidity: g.humidity ?? null,
        battery: g.battery ?? null,
        seq: g.seq ?? null,
        ingested_at: NOW,
      };
      return { json: JSON.stringify(doc), topic, expected };
    });
}

/** The instant `us` (µs since epoch) written as local time at a UTC offset, with microseconds. */
function isoWithOffset(us: number, offsetMinutes: number): string {
  const ms = Math.floor(us / 1000);
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const micros = String(us - ms * 1000).padStart(3, '0');
  const fraction = `${String(ms % 1000).padStart(3, '0')}${micros}`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}.${fraction}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
