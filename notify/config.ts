import convict from 'convict';
import { ConfigOf, kafkaSchema, loadConfig, metricsSchema, registrySchema } from '../lib/config';
import { ConfigError } from '../lib/errors';

// '' passes here so a sample.env can show the key unset; loadNotifyConfig requires a value.
convict.addFormat({
  name: 'webhook-url',
  validate(value: unknown) {
    if (value === '') return;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw new Error('must be an absolute http or https URL (https://hooks.example.com/…)');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http or https URL');
  },
});

export const notifySchema = {
  kafka: kafkaSchema,
  registry: registrySchema,
  metrics: { port: { ...metricsSchema.port, default: 9467 } },
  notify: {
    webhookUrl: {
      doc: 'URL each alert is POSTed to (required; --webhook). A secret for Slack-style hooks: never logged',
      format: 'webhook-url',
      default: '',
      env: 'NOTIFY_WEBHOOK_URL',
      sensitive: true,
    },
    format: {
      doc: 'Request body: json (the alert) or slack (an incoming-webhook {"text": …})',
      format: ['json', 'slack'],
      default: 'json',
      env: 'NOTIFY_FORMAT',
    },
    groupId: {
      doc: 'Consumer group of the notifiers (its own: it reads every alert)',
      format: String,
      default: 'iot-notify',
      env: 'NOTIFY_GROUP_ID',
    },
    fromBeginning: {
      doc: 'A new consumer group starts at the earliest alert (else at the next one: a first start does not replay history into a chat)',
      format: 'boolean-text',
      default: false,
      env: 'NOTIFY_FROM_BEGINNING',
    },
    timeoutMs: {
      doc: 'A request not answered within this many ms counts as failed and is retried',
      format: 'positive-int',
      default: 10000,
      env: 'NOTIFY_TIMEOUT_MS',
    },
    retryMinMs: {
      doc: 'First back-off, in ms, after a failed request; doubles per failure',
      format: 'positive-int',
      default: 500,
      env: 'NOTIFY_RETRY_MIN_MS',
    },
    retryMaxMs: { doc: 'Longest back-off, in ms, between retries', format: 'positive-int', default: 60000, env: 'NOTIFY_RETRY_MAX_MS' },
    rejectAttempts: {
      doc: 'An alert answered with a 4xx (but 408 and 429) this many times is parked in the dead-letter topic',
      format: 'positive-int',
      default: 3,
      env: 'NOTIFY_REJECT_ATTEMPTS',
    },
    deadLetterTopic: {
      doc: 'Dead-letter topic for alerts the webhook keeps rejecting',
      format: 'topic',
      default: 'iot.alerts.dlq',
      env: 'NOTIFY_DLQ_TOPIC',
    },
  },
};

export type NotifyConfig = ConfigOf<typeof notifySchema>;

/** Loads and checks the notifier's config; one ConfigError names every bad key, the missing URL too. */
export function loadNotifyConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const config = loadConfig(notifySchema, overrides, env);
  if (config.notify.webhookUrl === '') {
    throw new ConfigError([
      { key: 'NOTIFY_WEBHOOK_URL (notify.webhookUrl)', message: 'is required: the URL to POST alerts to (or --webhook <url>)' },
    ]);
  }
  if (config.notify.retryMinMs > config.notify.retryMaxMs) {
    throw new ConfigError([
      { key: 'NOTIFY_RETRY_MIN_MS (notify.retryMinMs)', message: `must not exceed NOTIFY_RETRY_MAX_MS (${config.notify.retryMaxMs})` },
    ]);
  }
  return config;
}
