import { ConfigError } from '../lib/errors';
import type { Alert } from '../schemas';
import { loadNotifyConfig } from './config';
import { judge, webhookBody } from './webhook';

const T = Date.parse('2026-12-01T10:00:00Z') * 1000;
const alert: Alert = {
  // Any id: the webhook passes it through (the detector's scheme is detector/alert.ts).
  alert_id: '5f0c2a9e7b41d3c8',
  device_id: 'dev-7',
  kind: 'low_battery',
  metric: 'battery',
  value: 19.5,
  mean: null,
  stddev: null,
  z: null,
  threshold: 20,
  reading_time: T,
  detected_at: T / 1000 + 5,
  details: '{"rearm_above":25}',
};

describe('webhook body', () => {
  it('json: the alert with ISO times and its details as an object', () => {
    expect(JSON.parse(webhookBody(alert, 'json'))).toMatchObject({
      alert_id: alert.alert_id,
      kind: 'low_battery',
      reading_time_iso: '2026-12-01T10:00:00.000Z',
      details: { rearm_above: 25 },
    });
  });

  it('slack: an incoming-webhook message with the alert as one readable line', () => {
    expect(JSON.parse(webhookBody(alert, 'slack'))).toEqual({
      text: 'iot-pipeline: 2026-12-01T10:00:00.000Z  low_battery       dev-7  battery 19.5 % below 20 %',
    });
  });
});

describe('judge', () => {
  it.each([
    [{ status: 200, body: '' }, 'delivered', '2xx'],
    [{ status: 204, body: '' }, 'delivered', '2xx'],
    [{ status: 400, body: 'no such channel' }, 'rejected', '4xx'],
    [{ status: 410, body: '' }, 'rejected', '4xx'],
    [{ status: 408, body: '' }, 'retry', '4xx'],
    [{ status: 429, body: '' }, 'retry', '4xx'],
    [{ status: 503, body: '' }, 'retry', '5xx'],
    [{ status: 302, body: '' }, 'retry', 'other'],
    [{ failure: 'timeout' as const, message: 'no answer within 10 ms' }, 'retry', 'timeout'],
    [{ failure: 'network' as const, message: 'ECONNREFUSED' }, 'retry', 'network'],
  ])('%j → %s', (attempt, verdict, result) => {
    expect(judge(attempt)).toMatchObject({ verdict, result });
  });

  it('keeps the answer as the reason', () => {
    expect(judge({ status: 400, body: 'no such channel' }).reason).toBe('HTTP 400: no such channel');
  });
});

describe('notify config', () => {
  it('requires the webhook URL, naming the key', () => {
    expect(() => loadNotifyConfig({}, {})).toThrow(ConfigError);
    expect(() => loadNotifyConfig({}, {})).toThrow(/NOTIFY_WEBHOOK_URL \(notify\.webhookUrl\): is required/);
  });

  it('names every bad key at once', () => {
    let err: unknown;
    try {
      loadNotifyConfig({}, { NOTIFY_WEBHOOK_URL: 'ftp://x', NOTIFY_FORMAT: 'teams', NOTIFY_TIMEOUT_MS: '-1' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).keys.sort()).toEqual([
      'NOTIFY_FORMAT (notify.format)',
      'NOTIFY_TIMEOUT_MS (notify.timeoutMs)',
      'NOTIFY_WEBHOOK_URL (notify.webhookUrl)',
    ]);
  });

  it('takes a flag over the environment', () => {
    const c = loadNotifyConfig({ 'notify.webhookUrl': 'http://127.0.0.1:1/hook' }, { NOTIFY_WEBHOOK_URL: 'http://elsewhere/' });
    expect(c.notify.webhookUrl).toBe('http://127.0.0.1:1/hook');
    expect(c.notify.format).toBe('json');
  });
});
