/**
 * A corpus of malformed and hostile MQTT payloads, each with the reason `parsePayload` (the
 * bridge's parser) must give to the whole message. One list serves the unit test
 * (`hostile.test.ts`, every entry through the parser) and the integration test (`test/hostile.test.ts`, every entry over MQTT to the real bridge, which
 * must dead-letter it with that reason and store none of it).
 *
 * Entries are built from the receive time, so that "an hour ago" is a valid time and "a day
 * ahead" is beyond any clock skew the bridge allows.
 */
import type { RejectReason } from '../bridge/reading';

export interface HostilePayload {
  name: string;
  payload: Buffer | string;
  /** Under the default rules: `portfolio/telemetry` (when absent) or `devices/<id>/telemetry`. */
  topic?: string;
  expectReason: RejectReason;
}

const DAY_S = 86_400;

/** Published on the shared topic unless the entry names a per-device topic. */
export function hostilePayloads(nowMs: number, maxPayloadBytes = 16384): HostilePayload[] {
  const nowS = Math.floor(nowMs / 1000);
  const ts = nowS - 3600; // valid: an hour ago
  /** A valid reading of a hostile device, with some fields replaced (undefined drops one). */
  const doc = (over: Record<string, unknown> = {}): string => {
    const base: Record<string, unknown> = {
      device_id: 'hostile-1',
      firmware: '1.0.0',
      temperature: 21.5,
      humidity: 40,
      battery: 80,
      timestamp: ts,
    };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) delete base[k];
      else base[k] = v;
    }
    return JSON.stringify(base);
  };
  /** A valid reading with one field's value written as raw JSON text (tokens JSON.stringify cannot produce). */
  const raw = (field: string, text: string): string =>
    `{"device_id":"hostile-1","battery":80${field === 'timestamp' ? '' : `,"timestamp":${ts}`},"${field}":${text}}`;
  const utf16 = (s: string, bom: number[], encode: (s: string) => Buffer) => Buffer.concat([Buffer.from(bom), encode(s)]);
  const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
  const valid = doc();

  const list: HostilePayload[] = [
    // --- not JSON, or not UTF-8 -------------------------------------------------------------
    { name: 'empty payload', payload: '', expectReason: 'invalid_json' },
    { name: 'whitespace only', payload: ' \n\t ', expectReason: 'invalid_json' },
    { name: 'truncated JSON', payload: valid.slice(0, -5), expectReason: 'invalid_json' },
    { name: 'unterminated string', payload: '{"device_id":"hostile-1', expectReason: 'invalid_json' },
    { name: 'plain text', payload: 'temperature=21.5 humidity=40', expectReason: 'invalid_json' },
    { name: 'NaN token', payload: raw('temperature', 'NaN'), expectReason: 'invalid_json' },
    { name: 'Infinity token', payload: raw('temperature', 'Infinity'), expectReason: 'invalid_json' },
    { name: '-Infinity token', payload: raw('humidity', '-Infinity'), expectReason: 'invalid_json' },
    { name: 'single-quoted JSON', payload: valid.replace(/"/g, "'"), expectReason: 'invalid_json' },
    { name: 'trailing comma', payload: `${valid.slice(0, -1)},}`, expectReason: 'invalid_json' },
    { name: 'a comment', payload: `{/* hi */${valid.slice(1)}`, expectReason: 'invalid_json' },
    { name: 'hex number', payload: raw('temperature', '0x15'), expectReason: 'invalid_json' },
    {
      name: 'binary garbage',
      payload: Buffer.from([0x00, 0xff, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x7b, 0x80, 0x7d]),
      expectReason: 'invalid_json',
    },
    { name: 'UTF-16 LE with BOM', payload: utf16(valid, [0xff, 0xfe], (s) => Buffer.from(s, 'utf16le')), expectReason: 'invalid_json' },
    { name: 'UTF-16 BE with BOM', payload: utf16(valid, [0xfe, 0xff], utf16be), expectReason: 'invalid_json' },
    { name: 'UTF-16 LE without BOM (NUL bytes between characters)', payload: Buffer.from(valid, 'utf16le'), expectReason: 'invalid_json' },
    {
      name: 'two UTF-8 BOMs',
      payload: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(valid)]),
      expectReason: 'invalid_json',
    },
    {
      name: 'a lone surrogate encoded as UTF-8 bytes (CESU)',
      payload: Buffer.concat([
        Buffer.from('{"device_id":"dev'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from(`","battery":1,"timestamp":${ts}}`),
      ]),
      expectReason: 'invalid_json',
    },
    {
      name: 'an overlong UTF-8 quote',
      payload: Buffer.concat([Buffer.from('{"device_id":'), Buffer.from([0xc0, 0xa2]), Buffer.from('x"}')]),
      expectReason: 'invalid_json',
    },
    {
      name: 'a raw NUL byte between tokens',
      payload: `{"device_id":"hostile-1",\u0000"battery":1,"timestamp":${ts}}`,
      expectReason: 'invalid_json',
    },
    {
      name: 'a raw newline inside the id string',
      payload: `{"device_id":"host\nile","battery":1,"timestamp":${ts}}`,
      expectReason: 'invalid_json',
    },

    // --- structure --------------------------------------------------------------------------
    { name: '10k levels of arrays, unclosed', payload: '['.repeat(10_000), expectReason: 'nesting_too_deep' },
    { name: '8000 levels of arrays, closed', payload: '['.repeat(8000) + ']'.repeat(8000), expectReason: 'nesting_too_deep' },
    { name: '2500 levels of objects', payload: '{"a":'.repeat(2500) + '1' + '}'.repeat(2500), expectReason: 'nesting_too_deep' },
    {
      name: 'deep nesting in a sensor field',
      payload: raw('temperature', '['.repeat(5000) + ']'.repeat(5000)),
      expectReason: 'nesting_too_deep',
    },
    // An array is a gateway batch; what is hostile there concerns the whole message.
    { name: 'an empty batch', payload: '[]', expectReason: 'empty_batch' },
    { name: 'a batch of 1001 readings', payload: `[${Array(1001).fill(valid).join(',')}]`, expectReason: 'too_many_readings' },
    { name: 'a bare number', payload: '21.5', expectReason: 'not_an_object' },
    { name: 'a bare string', payload: '"hostile-1"', expectReason: 'not_an_object' },
    { name: 'null', payload: 'null', expectReason: 'not_an_object' },
    { name: 'true', payload: 'true', expectReason: 'not_an_object' },
    {
      name: 'a UTF-8 BOM before an empty array',
      payload: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' [ ]')]),
      expectReason: 'empty_batch',
    },

    // --- duplicate keys (identity must not depend on which parser reads it) -----------------
    { name: 'device_id twice', payload: `{"device_id":"a","device_id":"b","battery":1,"timestamp":${ts}}`, expectReason: 'duplicate_key' },
    {
      name: 'timestamp twice',
      payload: `{"device_id":"hostile-1","battery":1,"timestamp":${ts},"timestamp":${ts + 1}}`,
      expectReason: 'duplicate_key',
    },
    {
      name: 'device_id twice, once through an escape',
      payload: `{"device_id":"a","device\\u005fid":"b","battery":1,"timestamp":${ts}}`,
      expectReason: 'duplicate_key',
    },
    {
      name: '__proto__ twice',
      payload: `{"__proto__":{},"__proto__":{"battery":1},"device_id":"hostile-1","battery":1,"timestamp":${ts}}`,
      expectReason: 'duplicate_key',
    },

    // --- missing fields ---------------------------------------------------------------------
    { name: 'an empty object', payload: '{}', expectReason: 'missing_field' },
    { name: 'no device_id on the shared topic', payload: doc({ device_id: undefined }), expectReason: 'missing_field' },
    { name: 'no timestamp', payload: doc({ timestamp: undefined }), expectReason: 'missing_field' },
    {
      name: 'no sensor value',
      payload: doc({ temperature: undefined, humidity: undefined, battery: undefined }),
      expectReason: 'missing_field',
    },
    { name: 'only unknown fields', payload: JSON.stringify({ id: 'hostile-1', temp: 21, ts }), expectReason: 'missing_field' },

    // --- wrong types ------------------------------------------------------------------------
    { name: 'temperature as a numeric string', payload: doc({ temperature: '21.5' }), expectReason: 'wrong_type' },
    { name: 'temperature "NaN" as a string', payload: doc({ temperature: 'NaN' }), expectReason: 'wrong_type' },
    { name: 'humidity "Infinity" as a string', payload: doc({ humidity: 'Infinity' }), expectReason: 'wrong_type' },
    { name: 'battery as a nested array', payload: doc({ battery: [[80]] }), expectReason: 'wrong_type' },
    { name: 'device_id as a number', payload: doc({ device_id: 1 }), expectReason: 'wrong_type' },
    { name: 'device_id as an array', payload: doc({ device_id: ['hostile-1'] }), expectReason: 'wrong_type' },
    { name: 'timestamp as a boolean', payload: doc({ timestamp: true }), expectReason: 'wrong_type' },
    { name: 'timestamp as an object', payload: doc({ timestamp: { $date: ts } }), expectReason: 'wrong_type' },
    { name: 'firmware as an object', payload: doc({ firmware: { version: 1 } }), expectReason: 'wrong_type' },
    { name: 'seq as a string', payload: doc({ seq: '7' }), expectReason: 'wrong_type' },

    // --- numbers out of range ---------------------------------------------------------------
    { name: 'temperature 1e308', payload: doc({ temperature: 1e308 }), expectReason: 'out_of_range' },
    { name: 'temperature -1e308', payload: doc({ temperature: -1e308 }), expectReason: 'out_of_range' },
    { name: 'temperature 1e400 (Infinity once parsed)', payload: raw('temperature', '1e400'), expectReason: 'out_of_range' },
    { name: 'humidity 2^53+1', payload: raw('humidity', '9007199254740993'), expectReason: 'out_of_range' },
    { name: 'seq 2^53+1 (not exact in a double)', payload: raw('seq', '9007199254740993'), expectReason: 'out_of_range' },
    { name: 'negative seq', payload: doc({ seq: -1 }), expectReason: 'out_of_range' },
    { name: 'firmware of 33 characters', payload: doc({ firmware: '1'.repeat(33) }), expectReason: 'out_of_range' },
    { name: 'firmware with an RTL override', payload: doc({ firmware: '1.0\u202e0.2' }), expectReason: 'out_of_range' },
    { name: 'firmware with NUL', payload: doc({ firmware: '1.0\u0000' }), expectReason: 'out_of_range' },
    { name: 'firmware with an ANSI escape', payload: doc({ firmware: '\u001b[31m1.0' }), expectReason: 'out_of_range' },

    // --- identities that are not ids --------------------------------------------------------
    { name: 'SQL in the device id', payload: doc({ device_id: "'; DROP TABLE device_telemetry;--" }), expectReason: 'invalid_device_id' },
    {
      name: 'SQL in the device id, quote-free',
      payload: doc({ device_id: 'x;DELETE FROM device_telemetry' }),
      expectReason: 'invalid_device_id',
    },
    { name: 'RTL override in the id', payload: doc({ device_id: 'dev\u202e100' }), expectReason: 'invalid_device_id' },
    { name: 'zero-width space in the id', payload: doc({ device_id: 'dev\u200b001' }), expectReason: 'invalid_device_id' },
    { name: 'zero-width joiner at the end of the id', payload: doc({ device_id: 'dev-001\u200d' }), expectReason: 'invalid_device_id' },
    { name: 'NUL in the id', payload: doc({ device_id: 'dev\u0000001' }), expectReason: 'invalid_device_id' },
    { name: 'a newline in the id (escaped)', payload: doc({ device_id: 'dev\n001' }), expectReason: 'invalid_device_id' },
    { name: 'an emoji id', payload: doc({ device_id: 'dev-\u{1f525}' }), expectReason: 'invalid_device_id' },
    {
      name: 'a lone surrogate in the id (JSON escape)',
      payload: `{"device_id":"dev\\ud800","battery":1,"timestamp":${ts}}`,
      expectReason: 'invalid_device_id',
    },
    { name: 'a Cyrillic look-alike letter in the id', payload: doc({ device_id: 'd\u0435v-001' }), expectReason: 'invalid_device_id' },
    { name: 'fullwidth digits in the id', payload: doc({ device_id: 'dev-\uff10\uff11' }), expectReason: 'invalid_device_id' },
    { name: 'MQTT wildcards in the id', payload: doc({ device_id: 'dev+#' }), expectReason: 'invalid_device_id' },
    { name: 'a slash in the id', payload: doc({ device_id: 'a/b' }), expectReason: 'invalid_device_id' },
    { name: 'an empty id', payload: doc({ device_id: '' }), expectReason: 'invalid_device_id' },
    { name: 'an id of 65 characters', payload: doc({ device_id: 'd'.repeat(65) }), expectReason: 'invalid_device_id' },
    {
      name: 'an invalid id in the per-device topic',
      payload: doc({ device_id: undefined }),
      topic: 'devices/-x/telemetry',
      expectReason: 'invalid_device_id',
    },
    {
      name: 'a quote in the per-device topic',
      payload: doc({ device_id: undefined }),
      topic: "devices/dev'x/telemetry",
      expectReason: 'invalid_device_id',
    },

    // --- times that cannot be right ---------------------------------------------------------
    { name: 'a negative timestamp', payload: doc({ timestamp: -1 }), expectReason: 'invalid_timestamp' },
    { name: 'the epoch', payload: doc({ timestamp: 0 }), expectReason: 'invalid_timestamp' },
    { name: 'a day before 1970', payload: doc({ timestamp: -DAY_S }), expectReason: 'invalid_timestamp' },
    { name: 'a second before 2000', payload: doc({ timestamp: 946_684_799 }), expectReason: 'invalid_timestamp' },
    { name: 'timestamp -1e308', payload: doc({ timestamp: -1e308 }), expectReason: 'invalid_timestamp' },
    { name: 'timestamp 1e400 (Infinity once parsed)', payload: raw('timestamp', '1e400'), expectReason: 'invalid_timestamp' },
    { name: 'timestamp "NaN"', payload: doc({ timestamp: 'NaN' }), expectReason: 'invalid_timestamp' },
    { name: 'timestamp "Infinity"', payload: doc({ timestamp: 'Infinity' }), expectReason: 'invalid_timestamp' },
    { name: 'seconds as a string', payload: doc({ timestamp: String(ts) }), expectReason: 'invalid_timestamp' },
    {
      name: 'an ISO date with a five-digit year',
      payload: doc({ timestamp: '+99999-01-01T00:00:00Z' }),
      expectReason: 'invalid_timestamp',
    },
    {
      name: 'an ISO date with every field out of range',
      payload: doc({ timestamp: '2024-13-45T25:61:61Z' }),
      expectReason: 'invalid_timestamp',
    },
    { name: 'an ISO date of year 0000', payload: doc({ timestamp: '0000-01-01T00:00:00Z' }), expectReason: 'invalid_timestamp' },
    {
      name: 'an ISO date without a zone',
      payload: doc({ timestamp: new Date(ts * 1000).toISOString().slice(0, 19) }),
      expectReason: 'invalid_timestamp',
    },
    {
      name: 'an ISO date with trailing text',
      payload: doc({ timestamp: `${new Date(ts * 1000).toISOString()}; DROP TABLE x` }),
      expectReason: 'invalid_timestamp',
    },
    { name: 'a day ahead (seconds)', payload: doc({ timestamp: nowS + DAY_S }), expectReason: 'timestamp_in_future' },
    { name: 'ten minutes ahead (milliseconds)', payload: doc({ timestamp: nowMs + 600_000 }), expectReason: 'timestamp_in_future' },
    { name: 'timestamp 1e308 (read as milliseconds)', payload: doc({ timestamp: 1e308 }), expectReason: 'timestamp_in_future' },
    { name: 'timestamp 2^53+1', payload: raw('timestamp', '9007199254740993'), expectReason: 'timestamp_in_future' },
    { name: 'an ISO date in 9999', payload: doc({ timestamp: '9999-12-31T23:59:59.999999Z' }), expectReason: 'timestamp_in_future' },

    // --- per-device topics: the topic is the identity ---------------------------------------
    {
      name: 'a payload naming another device',
      payload: doc({ device_id: 'hostile-1' }),
      topic: 'devices/hostile-2/telemetry',
      expectReason: 'topic_mismatch',
    },
    {
      name: 'a payload naming the device in another case',
      payload: doc({ device_id: 'HOSTILE-2' }),
      topic: 'devices/hostile-2/telemetry',
      expectReason: 'topic_mismatch',
    },
    {
      name: 'a payload naming the device with a trailing space',
      payload: doc({ device_id: 'hostile-2 ' }),
      topic: 'devices/hostile-2/telemetry',
      expectReason: 'topic_mismatch',
    },

    // --- size -------------------------------------------------------------------------------
    {
      name: 'one byte over the limit',
      payload: valid + ' '.repeat(maxPayloadBytes + 1 - Buffer.byteLength(valid)),
      expectReason: 'payload_too_large',
    },
    { name: 'a 1 MB payload', payload: valid + ' '.repeat(1024 * 1024 - Buffer.byteLength(valid)), expectReason: 'payload_too_large' },

    // --- topics the bridge does not take (never delivered to it by its subscriptions) -------
    { name: 'a nested per-device topic', payload: valid, topic: 'devices/a/b/telemetry', expectReason: 'unknown_topic' },
  ];
  return list;
}
