import fc from 'fast-check';
import { dlqMessage, DLQ_HEADERS } from '../lib/dlq';
import { elementRejection, settleAll } from './batch';
import { arrayElements, DEFAULT_READING_RULES, parsePayload, parseReading, type BatchResult, type ParseResult } from './reading';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const TOPIC = 'portfolio/telemetry';
const rules = DEFAULT_READING_RULES;

const reading = (device: string, seq: number, extra: Record<string, unknown> = {}) => ({
  device_id: device,
  firmware: '1.0.0',
  temperature: 21.5,
  humidity: 40,
  battery: 77,
  timestamp: NOW_S - 60 + seq,
  seq,
  ...extra,
});

function parse(text: string, topic = TOPIC, r = rules): ParseResult | BatchResult {
  return parsePayload(Buffer.from(text), topic, NOW, r);
}

function batch(text: string, topic = TOPIC, r = rules): ParseResult[] {
  const result = parse(text, topic, r);
  if (!('batch' in result)) throw new Error(`not a batch: ${JSON.stringify(result)}`);
  return result.results;
}

const verdicts = (results: ParseResult[]) => results.map((r) => (r.ok ? 'ok' : r.reason));

describe('parsePayload: gateway batches', () => {
  it('takes each element of an array as the reading it would be alone', () => {
    const docs = [reading('gw-a', 1), reading('gw-b', 2), reading('gw-c', 3, { timestamp: new Date((NOW_S - 5) * 1000).toISOString() })];
    const results = batch(JSON.stringify(docs));
    expect(results).toEqual(docs.map((d) => parseReading(Buffer.from(JSON.stringify(d)), TOPIC, NOW, rules)));
    expect(verdicts(results)).toEqual(['ok', 'ok', 'ok']);
  });

  it('judges every element on its own: the bad ones with their reason, the good ones taken', () => {
    const text = JSON.stringify([
      reading('d1', 1),
      reading('d2', 2, { humidity: 140 }),
      42,
      reading('d3', 3, { temperature: 'hot' }),
      [reading('d4', 4)],
      { temperature: 20, timestamp: NOW_S },
      reading('d5', 5, { timestamp: NOW_S + 86400 }),
      reading('d6', 6),
    ]);
    const results = batch(text);
    expect(verdicts(results)).toEqual([
      'ok',
      'out_of_range',
      'not_an_object',
      'wrong_type',
      'not_an_object',
      'missing_field',
      'timestamp_in_future',
      'ok',
    ]);
    expect(results.filter((r) => r.ok).map((r) => r.ok && r.reading.device_id)).toEqual(['d1', 'd6']);
    expect(results[2]).toEqual({ ok: false, reason: 'not_an_object', detail: 'reading: expected a JSON object, got number' });
  });

  it('finds a repeated key in one element and only there', () => {
    const text =
      `[${JSON.stringify(reading('d1', 1))},{"device_id":"a","device_id":"b","battery":1,"timestamp":${NOW_S}},` +
      `{"device_id":"c","battery":1,"x":{"k":1,"k":2},"timestamp":${NOW_S}},{"device\\u005fid":"e","device_id":"f","battery":1,"timestamp":${NOW_S}}]`;
    const results = batch(text);
    expect(verdicts(results)).toEqual(['ok', 'duplicate_key', 'ok', 'duplicate_key']);
    expect(results[1]).toMatchObject({ detail: 'reading: key "device_id" appears more than once' });
  });

  it('on a per-device topic, every element must be of that device (an element without device_id is)', () => {
    const text = JSON.stringify([reading('dev-7', 1), reading('dev-8', 2), { battery: 50, timestamp: NOW_S }]);
    const results = batch(text, 'devices/dev-7/telemetry');
    expect(verdicts(results)).toEqual(['ok', 'topic_mismatch', 'ok']);
    expect(results[2].ok && results[2].reading.device_id).toBe('dev-7');
  });

  it('refuses a whole message for what concerns all of it', () => {
    const one = JSON.stringify(reading('d1', 1));
    const cases: [string, string | Buffer, string, RegExp][] = [
      ['an empty array', '[]', 'empty_batch', /empty array/],
      ['an empty array with whitespace', ' [ ] ', 'empty_batch', /empty array/],
      [
        'more readings than the limit',
        `[${Array(rules.maxBatchReadings + 1)
          .fill('{}')
          .join(',')}]`,
        'too_many_readings',
        /1001 readings in one message, limit 1000/,
      ],
      [
        'an array over the batch byte limit',
        `[${' '.repeat(rules.maxBatchPayloadBytes)}]`,
        'payload_too_large',
        /limit 262144 for a batch/,
      ],
      ['invalid JSON', `[${one},`, 'invalid_json', /^payload:/],
      ['nesting too deep', `[${'['.repeat(40)}${']'.repeat(40)}]`, 'nesting_too_deep', /deeper than 32/],
    ];
    for (const [name, text, reason, detail] of cases) {
      const r = parse(text.toString());
      expect({ name, batch: 'batch' in r }).toEqual({ name, batch: false });
      expect({ name, r }).toEqual({ name, r: { ok: false, reason, detail: expect.stringMatching(detail) } });
    }
    expect(parse('[]', 'elsewhere/topic')).toMatchObject({ ok: false, reason: 'unknown_topic' });
  });

  it('holds an array to the batch limits, an object to the single-payload one', () => {
    const element = JSON.stringify(reading('d1', 1, { pad: 'x'.repeat(rules.maxPayloadBytes) }));
    expect(verdicts(batch(`\ufeff [${element}]`))).toEqual(['ok']);
    expect(parse(element)).toMatchObject({ ok: false, reason: 'payload_too_large' });
    const small = { ...rules, maxBatchReadings: 2, maxBatchPayloadBytes: 600 };
    expect(verdicts(batch(JSON.stringify([reading('a', 1), reading('b', 2)]), TOPIC, small))).toEqual(['ok', 'ok']);
    expect(parse(JSON.stringify([reading('a', 1), reading('b', 2), reading('c', 3)]), TOPIC, small)).toMatchObject({
      reason: 'too_many_readings',
    });
  });

  it('leaves parseReading as it was: an array there is not a reading', () => {
    expect(parseReading(Buffer.from(JSON.stringify([reading('d1', 1)])), TOPIC, NOW, rules)).toEqual({
      ok: false,
      reason: 'not_an_object',
      detail: 'payload: expected a JSON object, got array',
    });
  });

  it('gives per element the verdict of the element sent alone (property)', () => {
    const element = fc.oneof(
      fc.record(
        {
          device_id: fc.constantFrom('d1', 'd2', 'bad id'),
          timestamp: fc.constantFrom(NOW_S, 'soon', NOW_S + 1e6),
          humidity: fc.constantFrom(10, 200, '5'),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 20 }), fc.constantFrom(TOPIC, 'devices/d1/telemetry'), (docs, topic) => {
        const results = batch(JSON.stringify(docs), topic);
        expect(results).toHaveLength(docs.length);
        docs.forEach((doc, i) => {
          const alone = parseReading(Buffer.from(JSON.stringify(doc)), topic, NOW, rules);
          expect(results[i].ok ? results[i] : (results[i] as { reason: string }).reason).toEqual(alone.ok ? alone : alone.reason);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('arrayElements', () => {
  it('gives each element as written, whitespace around it trimmed', () => {
    expect(arrayElements('[ {"a":"x,]}"} , 1,"s\\"]" ,[2,[3]],{"b":{"c":[4]}} ]')).toEqual([
      '{"a":"x,]}"}',
      '1',
      '"s\\"]"',
      '[2,[3]]',
      '{"b":{"c":[4]}}',
    ]);
    expect(arrayElements('[]')).toEqual([]);
  });

  it('splits any JSON array into its elements (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), (values) => {
        expect(arrayElements(JSON.stringify(values, null, 1)).map((t) => JSON.parse(t))).toEqual(
          values.map((v) => JSON.parse(JSON.stringify(v))),
        );
      }),
    );
  });
});

describe('settleAll', () => {
  it('calls done once, after the last record, with the first error', () => {
    const calls: (Error | undefined)[] = [];
    const settle = settleAll(3, (err) => calls.push(err));
    const first = new Error('first');
    settle();
    settle(first);
    expect(calls).toEqual([]);
    settle(new Error('second'));
    expect(calls).toEqual([first]);
    settle();
    expect(calls).toEqual([first]);
  });

  it('confirms a batch whose records all made it', () => {
    const calls: (Error | undefined)[] = [];
    const settle = settleAll(2, (err) => calls.push(err));
    settle();
    settle();
    expect(calls).toEqual([undefined]);
  });
});

describe('elementRejection', () => {
  it('names the element in the detail and the index header, keeps its text, cut to the single-payload limit', () => {
    const r = elementRejection(
      { reason: 'out_of_range', detail: 'humidity: 140 is outside 0..100' },
      3,
      '{"humidity":140}',
      'portfolio/telemetry',
      16384,
    );
    const message = dlqMessage(r, NOW);
    expect(message.value?.toString()).toBe('{"humidity":140}');
    expect(message.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'out_of_range',
      [DLQ_HEADERS.detail]: 'element 3: humidity: 140 is outside 0..100',
      [DLQ_HEADERS.source]: 'mqtt:portfolio/telemetry',
      [DLQ_HEADERS.index]: '3',
    });
    expect(elementRejection({ reason: 'wrong_type', detail: 'x' }, 0, 'é'.repeat(10), 't', 5).value).toHaveLength(5);
    expect(dlqMessage({ reason: 'invalid_json', detail: 'x', source: 's', value: null }).headers).not.toHaveProperty(DLQ_HEADERS.index);
  });
});
