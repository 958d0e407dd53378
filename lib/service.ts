import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, ConsumerGroupJoinEvent } from 'kafkajs';
import { Backoff } from './backoff';
import { Lifecycle } from './lifecycle';
import { createLogger, Logger } from './log';
import { createMetricsRegistry, MetricsRegistry, startMetricsServer } from './metrics';

export interface Service {
  logger: Logger;
  metrics: MetricsRegistry;
  lifecycle: Lifecycle;
  /** Set by the service when its loop is running; /healthz reports it. */
  health: { ready: boolean };
  metricsPort: number;
}

/**
 * What every long-running service starts with: a logger, a metrics registry served on
 * /metrics and /healthz, and signal handling that runs the shutdown steps registered later.
 */
export async function startService(name: string, metricsPort: number): Promise<Service> {
  const logger = createLogger(name);
  const metrics = createMetricsRegistry(name);
  const lifecycle = new Lifecycle(logger);
  const health = { ready: false };
  const server = await startMetricsServer(metrics, { port: metricsPort, healthy: () => health.ready && !lifecycle.isStopping });
  lifecycle.onShutdown('metrics server', () => server.close());
  lifecycle.handleSignals();
  logger.info({ metricsPort: server.port }, `${name} metrics on /metrics, health on /healthz`);
  return { logger, metrics, lifecycle, health, metricsPort: server.port };
}

/** Retries `attempt` with jittered exponential back-off until it succeeds or `deadlineMs` passes. */
export async function waitFor<T>(what: string, attempt: () => Promise<T>, logger: Logger, deadlineMs = 120000): Promise<T> {
  const started = Date.now();
  const backoff = new Backoff({ minMs: 200, maxMs: 5000 });
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() - started > deadlineMs) throw err;
      const delay = backoff.next();
      logger.warn({ err: (err as Error).message, retryInMs: delay }, `waiting for ${what}`);
      await sleep(delay);
    }
  }
}

/**
 * A consumer group member's health, the same in every service: ready once it joined the group
 * (`onJoin` then sees the assignment), not ready when the consumer crashed, and a crash that
 * KafkaJS will not restart stops the service.
 */
export function followConsumerGroup(
  consumer: Consumer,
  service: Service,
  onJoin: (e: ConsumerGroupJoinEvent) => void = () => undefined,
): void {
  const { logger, lifecycle, health } = service;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    onJoin(e);
    health.ready = true;
  });
  consumer.on(consumer.events.CRASH, (e) => {
    health.ready = false;
    logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    if (!e.payload.restart) void lifecycle.shutdown().finally(() => process.exit(1));
  });
}
