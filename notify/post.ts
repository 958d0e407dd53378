import { Attempt } from './webhook';

/**
 * One POST of one alert. The idempotency key is the alert's deterministic id: a receiver that
 * honours it drops the repeats a retry or a restarted notifier sends.
 */
export async function postAlert(url: string, body: string, idempotencyKey: string, timeoutMs: number): Promise<Attempt> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text().catch(() => '');
    return { status: res.status, body: text };
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { failure: 'timeout', message: `no answer within ${timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { failure: 'network', message: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}
