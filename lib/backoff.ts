/**
 * Retry delays for every retry loop: exponential, so a server that is down is not hammered, and
 * jittered, so a fleet of clients (simulators, bridges, writers) that lost the same server does
 * not come back to it in lock-step.
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

/** The delays of one retry loop: each failure waits longer; a success starts over. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Counts one more failure and returns how long to wait before the next try. */
  next(): number {
    return backoffDelay(this.policy, this.failures++, this.random);
  }

  reset(): void {
    this.failures = 0;
  }
}
