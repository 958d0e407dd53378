/**
 * Reconnect delays: exponential with jitter, so a fleet of simulators that lost the same broker
 * does not hammer it in lock-step when it returns. MQTT.js only knows a fixed reconnectPeriod;
 * the publisher feeds it these delays one attempt at a time.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): the ceiling doubles per attempt up to maxMs;
 * the delay is drawn from its upper half ("equal jitter"), never shorter than minMs / 2.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
