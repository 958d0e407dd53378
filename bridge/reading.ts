/**
 * One MQTT payload in, one validated and normalised reading out (or a stable reason why not).
 *
 * Pure and synchronous: no I/O, no clock (the caller passes the receive time), so the same
 * bytes on the same topic always give the same result; a redelivered message therefore gets
 * the same identity `(device_id, time)` and is deduplicated downstream.
 *
 * Hot path (thousands of messages per second): one UTF-8 decode, one JSON.parse, regular
 * expressions compiled once at module load, and no intermediate objects beyond the result.
 *
 * Decisions a reader may look for:
 * - Unknown extra fields are ignored, not rejected, so devices can add fields before the
 *   schema knows them. There is therefore no `unknown_field` reason.
 * - Duplicate keys at the top level are rejected (`duplicate_key`). JSON.parse would keep the
 *   last one silently, and another parser (a log shipper, a DLQ tool) may keep the first, so
 *   `{"device_id":"a","device_id":"b"}` would name a different device to each reader. Escapes
 *   count: `"device\u005fid"` is `device_id`. Keys inside nested values are not checked: the
 *   bridge drops nested values, so they cannot change what is stored.
 * - Nesting deeper than `maxNestingDepth` is rejected (`nesting_too_deep`) before JSON.parse
 *   sees it: V8 parses deep nesting without overflowing the stack, but 16 KB of `[` costs it
 *   about 400 times as much CPU as 16 KB of flat JSON, a cheap way for one device to slow
 *   the bridge. A device payload has depth 1.
 * - `null` and an absent field mean the same thing for every optional field.
 * - Timestamps become integer microseconds, rounded to the nearest microsecond with ties to
 *   even. Rounding (not flooring) is what makes `1700000000.123456` (seconds) and
 *   `1700000000123.456` (milliseconds) land on the same microsecond although neither is exact
 *   in binary floating point.
 */

import type { Reading } from '../schemas';

/** The record produced to Kafka (Avro field order); its home is `schemas/`. */
export type { Reading };

/** Why a payload was rejected. Stable: it is a metric label and a DLQ header value. */
export type RejectReason =
  | 'payload_too_large'
  | 'invalid_json'
  | 'nesting_too_deep'
  | 'not_an_object'
  | 'duplicate_key'
  | 'missing_field'
  | 'wrong_type'
  | 'out_of_range'
  | 'invalid_device_id'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'topic_mismatch'
  | 'unknown_topic'
  | 'too_many_readings'
  | 'empty_batch';

export const REJECT_REASONS: readonly RejectReason[] = [
  'payload_too_large',
  'invalid_json',
  'nesting_too_deep',
  'not_an_object',
  'duplicate_key',
  'missing_field',
  'wrong_type',
  'out_of_range',
  'invalid_device_id',
  'invalid_timestamp',
  'timestamp_in_future',
  'topic_mismatch',
  'unknown_topic',
  'too_many_readings',
  'empty_batch',
];

export type ParseResult = { ok: true; reading: Reading } | { ok: false; reason: RejectReason; detail: string };

/**
 * A gateway batch: a JSON array of readings, each validated on its own. `results[i]` is the
 * verdict on element `i`; `text` is the decoded payload, for `arrayElements` when an element
 * has to be dead-lettered as it was written.
 */
export interface BatchResult {
  readonly batch: true;
  readonly results: ParseResult[];
  readonly text: string;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface ReadingRules {
  /** Checked on the raw bytes, before decoding, so a huge payload costs nothing to refuse. */
  readonly maxPayloadBytes: number;
  /** The same for a payload that is a JSON array (a gateway batch). */
  readonly maxBatchPayloadBytes: number;
  /** Most readings in one gateway batch. */
  readonly maxBatchReadings: number;
  /** Arrays and objects inside each other; the payload's own object is depth 1. */
  readonly maxNestingDepth: number;
  /** Must not carry the `g` or `y` flag (those make `test` stateful). */
  readonly deviceIdPattern: RegExp;
  readonly temperature: Range;
  readonly humidity: Range;
  readonly battery: Range;
  readonly firmwareMaxLength: number;
  /** Earlier timestamps are device clocks that never synchronised. */
  readonly earliestTimestampMs: number;
  /** How far ahead of the bridge's clock a device clock may run. */
  readonly maxClockSkewMs: number;
  /** The shared topic, where the payload names the device (MQTT_TOPIC). */
  readonly defaultTopic: string;
  /** Per-device topics are `<prefix><device_id>/telemetry`; the id in the topic is the identity. */
  readonly deviceTopicPrefix: string;
}

export const DEFAULT_READING_RULES: ReadingRules = Object.freeze({
  maxPayloadBytes: 16384,
  maxBatchPayloadBytes: 262144,
  maxBatchReadings: 1000,
  maxNestingDepth: 32,
  // Letters and digits first, then also . _ : - ; at most 64 characters. This alone keeps
  // control characters, slashes, quotes and SQL-looking text out of identities.
  deviceIdPattern: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/,
  temperature: Object.freeze({ min: -60, max: 150 }),
  humidity: Object.freeze({ min: 0, max: 100 }),
  battery: Object.freeze({ min: 0, max: 100 }),
  firmwareMaxLength: 32,
  earliestTimestampMs: Date.UTC(2000, 0, 1),
  maxClockSkewMs: 300_000,
  defaultTopic: 'portfolio/telemetry',
  deviceTopicPrefix: 'devices/',
});

const DEVICE_TOPIC_SUFFIX = '/telemetry';

/** Below this a numeric timestamp is seconds (1e11 s is the year 5138), else milliseconds (1e11 ms is 1973). */
const SECONDS_LIMIT = 1e11;

// `fatal` so that bytes which are not UTF-8 are refused rather than silently turned into U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

// Extended ISO 8601 date-time: the zone is captured separately so its absence can be named.
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/**
 * Which device a topic speaks for: `null` on the default topic (the payload names it), the
 * id on a per-device topic, `undefined` for a topic the bridge does not take.
 */
export function topicDevice(mqttTopic: string, rules: Pick<ReadingRules, 'defaultTopic' | 'deviceTopicPrefix'>): string | null | undefined {
  if (mqttTopic === rules.defaultTopic) return null;
  const prefix = rules.deviceTopicPrefix;
  if (
    mqttTopic.length >= prefix.length + DEVICE_TOPIC_SUFFIX.length &&
    mqttTopic.startsWith(prefix) &&
    mqttTopic.endsWith(DEVICE_TOPIC_SUFFIX)
  ) {
    const id = mqttTopic.slice(prefix.length, mqttTopic.length - DEVICE_TOPIC_SUFFIX.length);
    if (!id.includes('/')) return id;
  }
  return undefined;
}

/**
 * One payload that must hold one reading (a JSON object). A JSON array is refused here
 * (`not_an_object`); `parsePayload` is the bridge's entry point, which takes batches too.
 */
export function parseReading(payload: Buffer, mqttTopic: string, receivedAtMs: number, rules: ReadingRules): ParseResult {
  const r = parsePayload(payload, mqttTopic, receivedAtMs, rules, false);
  return 'batch' in r ? reject('not_an_object', 'payload: expected a JSON object, got array') : r;
}

/**
 * One MQTT payload: a reading (a JSON object) gives a `ParseResult`, a gateway batch (a JSON
 * array of such objects) a `BatchResult` with one verdict per element. What concerns the whole
 * message (size, topic, UTF-8, JSON syntax, nesting, element count) is one `ParseResult`
 * rejection either way: no element of such a message is taken.
 */
export function parsePayload(
  payload: Buffer,
  mqttTopic: string,
  receivedAtMs: number,
  rules: ReadingRules,
  batches = true,
): ParseResult | BatchResult {
  const isArray = batches && startsWithBracket(payload);
  const limit = isArray ? rules.maxBatchPayloadBytes : rules.maxPayloadBytes;
  if (payload.length > limit) {
    return reject('payload_too_large', `payload: ${payload.length} bytes, limit ${limit}${isArray ? ' for a batch' : ''}`);
  }

  // The topic is checked before the payload is parsed: it is cheaper and it is what ACLs bind.
  const topicId = topicDevice(mqttTopic, rules);
  if (topicId === undefined) {
    return reject(
      'unknown_topic',
      `topic: ${quote(mqttTopic)} is neither ${rules.defaultTopic} nor ${rules.deviceTopicPrefix}<id>/telemetry`,
    );
  }
  if (topicId !== null && !rules.deviceIdPattern.test(topicId)) {
    return reject('invalid_device_id', `topic: device id ${quote(topicId)} does not match ${rules.deviceIdPattern.source}`);
  }

  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject('invalid_json', 'payload: not valid UTF-8');
  }
  const shape = scanStructure(text, rules.maxNestingDepth);
  if (shape.tooDeep) return reject('nesting_too_deep', `payload: nested deeper than ${rules.maxNestingDepth} levels`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8 quotes a few characters of the input in its message: escape and bound them.
    return reject('invalid_json', `payload: ${quote(String((err as Error).message)).slice(1, -1)}`);
  }
  if (isArray && Array.isArray(doc)) {
    const n = doc.length;
    if (n === 0) return reject('empty_batch', 'payload: an empty array holds no reading');
    if (n > rules.maxBatchReadings)
      return reject('too_many_readings', `payload: ${n} readings in one message, limit ${rules.maxBatchReadings}`);
    const results = new Array<ParseResult>(n);
    const duplicates = shape.elementDuplicates;
    for (let i = 0; i < n; i++) {
      const element: unknown = doc[i];
      const duplicate = duplicates === undefined ? undefined : duplicates.get(i);
      results[i] =
        typeof element !== 'object' || element === null || Array.isArray(element)
          ? reject('not_an_object', `reading: expected a JSON object, got ${kind(element)}`)
          : duplicate !== undefined
            ? reject('duplicate_key', `reading: key ${quote(duplicate)} appears more than once`)
            : checkFields(element as Record<string, unknown>, topicId, receivedAtMs, rules);
    }
    return { batch: true, results, text };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return reject('not_an_object', `payload: expected a JSON object, got ${kind(doc)}`);
  }
  // Only now is the scan's key list meaningful: the text is valid JSON with an object on top.
  if (shape.duplicateKey !== undefined) {
    return reject('duplicate_key', `payload: key ${quote(shape.duplicateKey)} appears more than once`);
  }
  return checkFields(doc as Record<string, unknown>, topicId, receivedAtMs, rules);
}

/** Whether the first byte past a byte-order mark and JSON whitespace is `[`. */
function startsWithBracket(payload: Buffer): boolean {
  let i = payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf ? 3 : 0;
  for (; i < payload.length; i++) {
    const c = payload[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c === 0x5b;
  }
  return false;
}

/** The fields of one reading object, from a payload or a batch element, checked and normalised. */
function checkFields(fields: Record<string, unknown>, topicId: string | null, receivedAtMs: number, rules: ReadingRules): ParseResult {
  // Identity.
  let deviceId: string;
  const rawId = fields.device_id;
  if (rawId === undefined || rawId === null) {
    if (topicId === null) return reject('missing_field', 'device_id: required on the default topic');
    deviceId = topicId;
  } else if (typeof rawId !== 'string') {
    return reject('wrong_type', `device_id: expected a string, got ${kind(rawId)}`);
  } else if (topicId !== null && rawId !== topicId) {
    return reject('topic_mismatch', `device_id: ${quote(rawId)} published on the topic of ${quote(topicId)}`);
  } else if (!rules.deviceIdPattern.test(rawId)) {
    return reject('invalid_device_id', `device_id: ${quote(rawId)} does not match ${rules.deviceIdPattern.source}`);
  } else {
    deviceId = rawId;
  }

  // Time.
  const rawTime = fields.timestamp;
  if (rawTime === undefined || rawTime === null) return reject('missing_field', 'timestamp: required');
  let timeUs: number;
  if (typeof rawTime === 'number') {
    if (!Number.isFinite(rawTime)) return reject('invalid_timestamp', 'timestamp: not a finite number');
    const ms = rawTime < SECONDS_LIMIT ? rawTime * 1000 : rawTime;
    const problem = checkTimeWindow(ms, receivedAtMs, rules);
    if (problem !== undefined) return problem;
    timeUs = roundHalfEven(rawTime < SECONDS_LIMIT ? rawTime * 1e6 : rawTime * 1e3);
  } else if (typeof rawTime === 'string') {
    const us = parseIsoMicros(rawTime);
    if (typeof us === 'string') return reject('invalid_timestamp', `timestamp: ${us}`);
    const problem = checkTimeWindow(us / 1000, receivedAtMs, rules);
    if (problem !== undefined) return problem;
    timeUs = us;
  } else {
    return reject('wrong_type', `timestamp: expected a number or an ISO 8601 string, got ${kind(rawTime)}`);
  }

  // Firmware: optional text.
  let firmware: string | null = null;
  const rawFirmware = fields.firmware;
  if (rawFirmware !== undefined && rawFirmware !== null) {
    if (typeof rawFirmware !== 'string') return reject('wrong_type', `firmware: expected a string, got ${kind(rawFirmware)}`);
    if (rawFirmware.length > rules.firmwareMaxLength) {
      return reject('out_of_range', `firmware: ${rawFirmware.length} characters, limit ${rules.firmwareMaxLength}`);
    }
    if (!isPrintableAscii(rawFirmware)) return reject('out_of_range', `firmware: ${quote(rawFirmware)} has a non-printable character`);
    firmware = rawFirmware;
  }

  // Sensors: each optional, at least one present.
  const temperature = sensor(fields.temperature, 'temperature', rules.temperature);
  if (typeof temperature === 'object' && temperature !== null) return temperature;
  const humidity = sensor(fields.humidity, 'humidity', rules.humidity);
  if (typeof humidity === 'object' && humidity !== null) return humidity;
  const battery = sensor(fields.battery, 'battery', rules.battery);
  if (typeof battery === 'object' && battery !== null) return battery;
  if (temperature === null && humidity === null && battery === null) {
    return reject('missing_field', 'temperature, humidity, battery: at least one sensor value is required');
  }

  // Sequence number: optional, a non-negative integer that fits a double exactly.
  let seq: number | null = null;
  const rawSeq = fields.seq;
  if (rawSeq !== undefined && rawSeq !== null) {
    if (typeof rawSeq !== 'number') return reject('wrong_type', `seq: expected an integer, got ${kind(rawSeq)}`);
    if (!Number.isInteger(rawSeq)) {
      return reject(Number.isFinite(rawSeq) ? 'wrong_type' : 'out_of_range', `seq: expected an integer, got ${rawSeq}`);
    }
    if (rawSeq < 0 || rawSeq > Number.MAX_SAFE_INTEGER)
      return reject('out_of_range', `seq: ${rawSeq} is outside 0..${Number.MAX_SAFE_INTEGER}`);
    seq = rawSeq;
  }

  return {
    ok: true,
    reading: {
      device_id: deviceId,
      time: timeUs,
      firmware,
      temperature,
      humidity,
      battery,
      seq,
      ingested_at: Math.floor(receivedAtMs),
    },
  };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * One pass over the text before JSON.parse: stops as soon as nesting passes `maxDepth`, and
 * notes the first key that repeats in the top-level object, or, when the top level is an
 * array (a gateway batch), in each of its object elements. Outside strings only brackets and
 * commas matter, so the pass is a character loop without allocation except for the keys
 * of the object being read. On text that is not valid JSON the keys mean nothing; the caller
 * uses them only once JSON.parse has accepted the text.
 */
function scanStructure(
  text: string,
  maxDepth: number,
): { tooDeep: boolean; duplicateKey?: string; elementDuplicates?: Map<number, string> } {
  let depth = 0;
  let top = 0; // the top-level bracket: `{`, `[`, or 0 before it
  let keyDepth = 1; // depth of the objects whose keys are checked: 1, or 2 in a top-level array
  let inKeyed = false; // inside such an object (at its own level or deeper)
  let keyNext = false; // in such an object, right after `{` or `,`: the next string is a key
  let element = 0; // index of the current element of a top-level array
  const keys: string[] = []; // an object has few keys: a linear search beats a Set
  let duplicateKey: string | undefined; // first repeat in the current object
  let elementDuplicates: Map<number, string> | undefined;
  const n = text.length;
  // Without a backslash anywhere (the usual payload) a string ends at the next quote, which
  // indexOf finds faster than a character loop.
  const plain = !text.includes('\\');
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      if (plain) {
        i = text.indexOf('"', i + 1);
        if (i === -1) i = n;
      } else {
        for (i++; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d === BACKSLASH) {
            escaped = true;
            i++;
          } else if (d === QUOTE) break;
        }
      }
      if (!keyNext) continue;
      keyNext = false;
      if (duplicateKey !== undefined) continue; // the first one is named; keep scanning for depth
      let key: string;
      try {
        key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
      } catch {
        continue; // invalid JSON: JSON.parse will say so
      }
      if (keys.includes(key)) {
        duplicateKey = key;
        if (top === 0x5b) (elementDuplicates ??= new Map()).set(element, key);
      } else keys.push(key);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return { tooDeep: true };
      if (depth === 1) {
        top = c;
        keyDepth = c === 0x7b ? 1 : 2;
      }
      if (depth === keyDepth && c === 0x7b) {
        inKeyed = keyNext = true;
        keys.length = 0;
        if (top === 0x5b) duplicateKey = undefined;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth === keyDepth) inKeyed = keyNext = false;
      depth--;
    } else if (c === COMMA) {
      if (depth === keyDepth && inKeyed) keyNext = true;
      else if (depth === 1 && top === 0x5b) element++;
    }
  }
  return top === 0x5b ? { tooDeep: false, elementDuplicates } : { tooDeep: false, duplicateKey };
}

/**
 * The text of each element of a JSON array, as written (whitespace around it trimmed). Only
 * for text JSON.parse accepted as an array; used when an element is dead-lettered, so that
 * the dead-letter topic holds what the device sent, not a re-serialisation.
 */
export function arrayElements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth === 1) start = i + 1;
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) {
        const last = text.slice(start, i).trim();
        if (last !== '' || out.length > 0) out.push(last);
        break;
      }
    } else if (c === COMMA && depth === 1) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return out;
}

function reject(reason: RejectReason, detail: string): ParseResult {
  return { ok: false, reason, detail };
}

/** A sensor value, `null` when absent, or the rejection. */
function sensor(value: unknown, name: string, range: Range): number | null | ParseResult {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') return reject('wrong_type', `${name}: expected a number, got ${kind(value)}`);
  // JSON has no NaN or Infinity, but 1e400 parses to Infinity; the range check refuses it too.
  if (!(value >= range.min && value <= range.max)) {
    return reject('out_of_range', `${name}: ${value} is outside ${range.min}..${range.max}`);
  }
  return value;
}

function checkTimeWindow(ms: number, receivedAtMs: number, rules: ReadingRules): ParseResult | undefined {
  if (ms < rules.earliestTimestampMs) {
    return reject('invalid_timestamp', `timestamp: ${isoOrNumber(ms)} is before ${isoOrNumber(rules.earliestTimestampMs)}`);
  }
  if (ms > receivedAtMs + rules.maxClockSkewMs) {
    return reject(
      'timestamp_in_future',
      `timestamp: ${Math.round((ms - receivedAtMs) / 1000)} s ahead of the bridge clock, limit ${rules.maxClockSkewMs / 1000} s`,
    );
  }
  return undefined;
}

/** For messages only: Date cannot represent every double (it throws beyond ±8.64e15 ms). */
function isoOrNumber(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`;
}

/**
 * ISO 8601 date-time with a zone to integer microseconds, or a message saying what is wrong.
 * Date.parse cannot be used: it drops digits past the millisecond and reads a zoneless
 * string as local time, which on a server is an accident of its configuration.
 */
export function parseIsoMicros(text: string): number | string {
  const m = ISO_DATE_TIME.exec(text);
  if (m === null) return `${quote(text)} is not an ISO 8601 date-time`;
  if (m[8] === undefined && m[9] === undefined) return `${quote(text)} has no zone offset (ambiguous)`;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const hour = +m[4];
  const minute = +m[5];
  const second = +m[6];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return `${quote(text)} is not a valid date-time`;
  }
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = +m[10];
    const om = m[11] === undefined ? 0 : +m[11];
    if (oh > 23 || om > 59) return `${quote(text)} has an invalid zone offset`;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // The fraction as nanoseconds (an integer), then to microseconds with ties to even.
  let fractionUs = 0;
  if (m[7] !== undefined) {
    const ns = +(m[7] + '000000000'.slice(m[7].length));
    fractionUs = roundHalfEven(ns / 1000);
  }
  // Date.UTC reads years 0..99 as 1900..1999; setUTCFullYear takes them literally.
  const utc =
    year < 100
      ? new Date(0).setUTCFullYear(year, month - 1, day) + ((hour * 60 + minute) * 60 + second) * 1000
      : Date.UTC(year, month - 1, day, hour, minute, second);
  const ms = utc - offsetMinutes * 60_000;
  return ms * 1000 + fractionUs;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Round to the nearest integer, ties to even: deterministic and without upward bias. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties towards +Infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** The JSON kind of a value, for messages: array and null are named apart from object. */
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * A device-supplied string made safe for logs and headers: cut short, then escaped to printable
 * ASCII. JSON.stringify alone leaves DEL, bidi overrides (U+202E) and line separators (U+2028)
 * as they are, and those make a log line read differently from what it holds.
 */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s).replace(
    /[^\x20-\x7e]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
