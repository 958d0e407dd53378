import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../lib/log';
import { ConnectionError } from '../lib/errors';
import { describeTlsError } from '../lib/mqtt-tls';
import { backoffDelay, type BackoffPolicy } from '../lib/backoff';

export interface PublisherOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** TLS options (lib/mqtt-tls.ts), or none for plain TCP. */
  tls?: ConnectionOptions;
  clientId: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5. */
  protocolVersion: 4 | 5;
  qos: 0 | 1;
  /** Most publishes awaiting acknowledgement at once. */
  window: number;
  backoff: BackoffPolicy;
  log: Logger;
}

export type PublishDone = (err: Error | undefined) => void;

/**
 * A thin MQTT.js adapter: one connection, a bounded window of unacknowledged publishes, and
 * reconnects with exponential backoff. While disconnected MQTT.js keeps QoS 1 publishes in its
 * outgoing store and resends them on reconnect, so nothing in the window is lost.
 */
export class Publisher {
  private inFlightCount = 0;
  private waiters: (() => void)[] = [];
  private attempt = 0;
  private serverWindow = Infinity;
  private closed = false;
  private everConnected = false;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: PublisherOptions,
  ) {}

  /** Connects (retrying with backoff until `signal` aborts); resolves on the first CONNACK. */
  static connect(options: PublisherOptions, signal?: AbortSignal): Promise<Publisher> {
    const { backoff, log } = options;
    const clientOptions: IClientOptions = {
      host: options.host,
      port: options.port,
      protocol: options.tls ? 'mqtts' : 'mqtt',
      ...(options.tls as Partial<IClientOptions>),
      protocolVersion: options.protocolVersion,
      clientId: options.clientId,
      username: options.username || undefined,
      password: options.password || undefined,
      // A publisher has no subscriptions to keep; unacknowledged publishes survive a reconnect
      // in MQTT.js's own store either way.
      clean: true,
      connectTimeout: 10_000,
      // Kept > 0 so MQTT.js reconnects by itself; the period is rewritten before each attempt.
      reconnectPeriod: backoffDelay(backoff, 0),
      queueQoSZero: true,
    };
    const client = mqtt.connect(clientOptions);
    const publisher = new Publisher(client, options);
    let warnedOffline = false;

    client.on('error', (err) => {
      // Refused connections repeat while the broker is down; say it once per outage.
      if (!warnedOffline)
        log.warn({ err: describeTlsError(err as NodeJS.ErrnoException) ?? err.message }, 'MQTT connection error; retrying with backoff');
      warnedOffline = true;
    });
    client.on('reconnect', () => {
      // This attempt's failure schedules the next after the period set here.
      publisher.attempt += 1;
      client.options.reconnectPeriod = backoffDelay(backoff, publisher.attempt);
    });
    client.on('offline', () => {
      if (!publisher.closed && publisher.everConnected) log.warn('MQTT connection lost; reconnecting');
    });
    client.on('connect', (connack) => {
      if (publisher.attempt > 0 || warnedOffline) log.info({ attempts: publisher.attempt }, 'MQTT connected');
      publisher.attempt = 0;
      publisher.everConnected = true;
      warnedOffline = false;
      client.options.reconnectPeriod = backoffDelay(backoff, 0);
      // An MQTT 5 broker states how many unacknowledged QoS 1 publishes it accepts; more is a protocol error.
      const receiveMaximum = connack.properties?.receiveMaximum;
      publisher.serverWindow = receiveMaximum ?? Infinity;
      publisher.wake();
    });

    return new Promise((resolve, reject) => {
      const onAbort = () => {
        client.end(true);
        reject(new ConnectionError(`gave up connecting to mqtt://${options.host}:${options.port}`));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(publisher);
      });
    });
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** The window in force: ours, or the broker's Receive Maximum if smaller. */
  get window(): number {
    return Math.max(1, Math.min(this.options.window, this.serverWindow));
  }

  /**
   * Waits for room in the window, then publishes; `done` runs on PUBACK (QoS 1), or once the
   * packet is written (QoS 0, which has no acknowledgement), or with the error.
   */
  async publish(topic: string, payload: string, done: PublishDone): Promise<void> {
    while (this.inFlightCount >= this.window) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlightCount += 1;
    this.client.publish(topic, payload, { qos: this.options.qos }, (err) => {
      this.inFlightCount -= 1;
      this.wake();
      done(err ?? undefined);
    });
  }

  /** Resolves true once nothing awaits acknowledgement, false if `timeoutMs` passes first. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlightCount > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Disconnects; `force` drops whatever is still unacknowledged. */
  async close(force = false): Promise<void> {
    this.closed = true;
    await this.client.endAsync(force);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
