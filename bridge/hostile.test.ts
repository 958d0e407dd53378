import fc from 'fast-check';
import { hostilePayloads } from '../testkit/hostile-payloads';
import {
  DEFAULT_READING_RULES,
  parsePayload,
  parseReading,
  REJECT_REASONS,
  topicDevice,
  type ParseResult,
  type ReadingRules,
} from './reading';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const rules = DEFAULT_READING_RULES;
const corpus = hostilePayloads(NOW, rules.maxPayloadBytes);

function bytes(payload: Buffer | string): Buffer {
  return Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
}

describe('the hostile corpus', () => {
  it('has at least 50 entries with distinct names, covering every reason', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
    expect(new Set(corpus.map((c) => c.expectReason))).toEqual(new Set(REJECT_REASONS));
  });

  it.each(corpus.map((c) => [c.name, c] as const))('%s', (_name, entry) => {
    const r = parsePayload(bytes(entry.payload), entry.topic ?? rules.defaultTopic, NOW, rules);
    expect(r).toEqual({ ok: false, reason: entry.expectReason, detail: expect.any(String) });
    expectSafeDetail(r as ParseResult);
  });
});

describe('deep nesting with a raised size limit', () => {
  const roomy: ReadingRules = { ...rules, maxPayloadBytes: 8 * 1024 * 1024 };
  it.each([10_000, 100_000, 1_000_000])('%d levels are refused before JSON.parse, without a stack overflow', (levels) => {
    for (const text of ['['.repeat(levels) + ']'.repeat(levels), '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)]) {
      expect(parseReading(Buffer.from(text), rules.defaultTopic, NOW, roomy)).toMatchObject({ ok: false, reason: 'nesting_too_deep' });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: whatever comes in, parseReading returns (never throws), says why in a known and
// safe way, and whatever it accepts satisfies every rule a stored reading relies on.

const TOPICS = [rules.defaultTopic, 'devices/dev-001/telemetry', 'devices/hostile-2/telemetry', 'devices/-x/telemetry', 'other/topic'];
const KNOWN = ['device_id', 'timestamp', 'firmware', 'temperature', 'humidity', 'battery', 'seq'] as const;
const VALID = { device_id: 'dev-001', firmware: '1.0.0', temperature: 21.5, humidity: 40, battery: 80, timestamp: NOW / 1000 - 60, seq: 3 };
const HOSTILE_STRINGS = [
  "'; DROP TABLE device_telemetry;--",
  'dev\u202e001',
  'dev\u200b',
  '\u0000',
  '\ud800',
  '\udc00x',
  '\u{1f525}',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e308',
  '9007199254740993',
  '',
  ' ',
  '\ufeff',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  'dev-001\n',
  '__proto__',
  'a'.repeat(100),
];

function expectSafeDetail(r: ParseResult): void {
  if (r.ok) return;
  expect(REJECT_REASONS).toContain(r.reason);
  expect(r.detail.length).toBeGreaterThan(0);
  expect(r.detail.length).toBeLessThan(300);
  // Printable ASCII only: no control characters, and no bidi overrides or line separators
  // that would make a log line or a DLQ header read differently from what it holds.
  expect(r.detail).toMatch(/^[\x20-\x7e]+$/);
}

function inRange(v: number | null, range: { min: number; max: number }): boolean {
  return v === null || (Number.isFinite(v) && v >= range.min && v <= range.max);
}

/** The rules an accepted reading must satisfy, checked on the result alone. */
function expectInvariants(payload: Buffer, topic: string): void {
  const r = parseReading(payload, topic, NOW, rules);
  expect(parseReading(payload, topic, NOW, rules)).toEqual(r); // pure: same bytes, same answer
  if (!r.ok) return expectSafeDetail(r);
  const x = r.reading;
  expect(payload.length).toBeLessThanOrEqual(rules.maxPayloadBytes);
  expect(rules.deviceIdPattern.test(x.device_id)).toBe(true);
  const topicId = topicDevice(topic, rules);
  expect(topicId).not.toBeUndefined();
  if (topicId !== null) expect(x.device_id).toBe(topicId);
  expect(Number.isSafeInteger(x.time)).toBe(true);
  expect(x.time).toBeGreaterThanOrEqual(rules.earliestTimestampMs * 1000);
  expect(x.time).toBeLessThanOrEqual((NOW + rules.maxClockSkewMs) * 1000);
  expect(inRange(x.temperature, rules.temperature) && inRange(x.humidity, rules.humidity) && inRange(x.battery, rules.battery)).toBe(true);
  expect(x.temperature ?? x.humidity ?? x.battery).not.toBeNull();
  expect(x.firmware === null || /^[\x20-\x7e]{0,32}$/.test(x.firmware)).toBe(true);
  expect(x.seq === null || (Number.isSafeInteger(x.seq) && x.seq >= 0)).toBe(true);
  expect(x.ingested_at).toBe(NOW);
}

const topic = fc.constantFrom(...TOPICS);

/** Byte-level damage to a valid payload: flips, insertions, deletions, repeats, truncation. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, ops: Mutation[]): Buffer {
  let b = input;
  for (const op of ops) {
    const at = b.length === 0 ? 0 : op.at % b.length;
    if (op.kind === 'flip') b = Buffer.concat([b.subarray(0, at), Buffer.from([op.byte]), b.subarray(at + 1)]);
    else if (op.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(op.bytes), b.subarray(at)]);
    else if (op.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + op.length)]);
    else if (op.kind === 'repeat') b = Buffer.concat([b.subarray(0, at + op.length), b.subarray(at)]);
    else b = b.subarray(0, at);
  }
  return b;
}

describe('parseReading under fuzzing', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), topic, (b, t) => expectInvariants(Buffer.from(b), t)),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON values, nested up to twice the depth limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 * rules.maxNestingDepth }), topic, (v, t) =>
        expectInvariants(Buffer.from(JSON.stringify(v)), t),
      ),
      { numRuns: 1000 },
    );
  });

  it('a valid payload damaged byte by byte', () => {
    const valid = Buffer.from(JSON.stringify(VALID));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), topic, (ops, t) => expectInvariants(mutate(valid, ops), t)),
      {
        numRuns: 2000,
      },
    );
  });

  it('a valid payload with known fields replaced by anything, hostile strings included', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(...HOSTILE_STRINGS),
      fc.double(),
      fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -0),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KNOWN), value, { maxKeys: 4 }), topic, (over, t) =>
        expectInvariants(Buffer.from(JSON.stringify({ ...VALID, ...over })), t),
      ),
      { numRuns: 1500 },
    );
  });

  it('a known key repeated, in any spelling JSON allows, is always a duplicate_key', () => {
    // The second occurrence spelled with \u escapes for some characters: the same key to JSON.
    const spelling = (key: string) =>
      fc
        .array(fc.boolean(), { minLength: key.length, maxLength: key.length })
        .map((esc) => [...key].map((ch, i) => (esc[i] ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch)).join(''));
    const repeated = fc.constantFrom(...KNOWN).chain((key) => fc.tuple(fc.constant(key), spelling(key), fc.jsonValue({ maxDepth: 2 })));
    fc.assert(
      fc.property(repeated, ([key, spelled, value]) => {
        const text = `${JSON.stringify(VALID).slice(0, -1)},"${spelled}":${JSON.stringify(value)}}`;
        expect(parseReading(Buffer.from(text), rules.defaultTopic, NOW, rules)).toEqual({
          ok: false,
          reason: 'duplicate_key',
          detail: `payload: key ${JSON.stringify(key)} appears more than once`,
        });
      }),
      { numRuns: 500 },
    );
  });
});
