import type { Alert } from '../schemas';
import { alertJson, formatAlert } from '../schemas/alert-format';

export type WebhookFormat = 'json' | 'slack';

/** The request body: the alert as `iot-pipeline alerts --json` prints it, or a Slack incoming-webhook message. */
export function webhookBody(alert: Alert, format: WebhookFormat): string {
  return format === 'slack' ? JSON.stringify({ text: `iot-pipeline: ${formatAlert(alert)}` }) : alertJson(alert);
}

/** What one POST came to: an answer, or none (no answer in time, or no connection). */
export type Attempt = { status: number; body: string } | { failure: 'timeout' | 'network'; message: string };

export interface Verdict {
  /** delivered: commit; retry: the same request again later; rejected: the receiver refuses this alert. */
  verdict: 'delivered' | 'retry' | 'rejected';
  /** The metric label: 2xx, 4xx, 5xx, timeout, network, other. */
  result: string;
  /** Why, for logs and the dead letter's detail. */
  reason: string;
}

/**
 * 2xx delivers. A 4xx refuses this alert (bad payload, gone channel), except 408 and 429, which
 * say "later"; everything else (5xx, a timeout, a refused connection, an unfollowed 3xx) is the
 * receiver's or the network's trouble and is retried without limit: the offset is not committed
 * until the alert is delivered or parked.
 */
export function judge(attempt: Attempt): Verdict {
  if ('failure' in attempt) return { verdict: 'retry', result: attempt.failure, reason: attempt.message };
  const { status } = attempt;
  const reason = `HTTP ${status}${attempt.body ? `: ${attempt.body.slice(0, 200)}` : ''}`;
  if (status >= 200 && status < 300) return { verdict: 'delivered', result: '2xx', reason };
  if (status >= 400 && status < 500) return { verdict: status === 408 || status === 429 ? 'retry' : 'rejected', result: '4xx', reason };
  return { verdict: 'retry', result: status >= 500 && status < 600 ? '5xx' : 'other', reason };
}
