/**
 * A persistent MQTT subscriber session with pipelined QoS 1 acknowledgements.
 *
 * Why our own small client on `mqtt-packet` (MQTT.js's codec) over `net`, and not MQTT.js:
 * MQTT.js handles incoming packets one at a time per connection and sends the PUBACK when
 * its `handleMessage` / `customHandleAcks` callback completes (the latter only for MQTT 5).
 * Acknowledging after Kafka that way allows one message per Kafka round trip per connection
 * (measured). What the bridge needs is a different shape: many messages handed off at once,
 * PUBACKs still in arrival order (the spec requires it), each only when its record and every
 * earlier one are in Kafka, a failed hand-off turned into a reconnect (MQTT redelivers only on
 * a new connection), and back-pressure by not reading the socket. Only the subscriber's
 * subset of the protocol is needed, so it fits in this one module: CONNECT/CONNACK (clean
 * session false, MQTT 5 clean start false with a session expiry), SUBSCRIBE/SUBACK at QoS 1
 * (shared subscriptions `$share/<group>/<filter>` included), PUBLISH QoS 0/1 in, PUBACK out,
 * PINGREQ/PINGRESP, DISCONNECT both ways, reconnect with backoff. Not supported, on purpose:
 * QoS 2 (we subscribe at QoS 1, so the broker never sends it), publishing, topic aliases
 * (not advertising a Topic Alias Maximum means the broker must not use them), TLS (would be
 * `tls.connect` in `openSocket`).
 *
 * Every MQTT protocol detail of the bridge lives here; the ordering rule lives in the pure
 * `AckSequencer`.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import * as mqttPacket from 'mqtt-packet';
import { AckSequencer, type Ticket } from './ack-sequencer';
import { Backoff } from '../lib/backoff';
import { ConnectionError, PipelineError } from '../lib/errors';
import type { Logger } from '../lib/log';
import { describeTlsError } from '../lib/mqtt-tls';

export interface MqttSessionOptions {
  host: string;
  port: number;
  /** Stable across restarts: the broker keeps the unacknowledged messages under this id. */
  clientId: string;
  protocolVersion: 4 | 5;
  /** Topic filters, subscribed at QoS 1; `$share/<group>/<filter>` spreads them over bridges. */
  subscriptions: string[];
  /**
   * Unacknowledged messages the broker may send at once (MQTT 5 Receive Maximum, 1..65535).
   * MQTT 3.1.1 has no such field: there the broker's own limit applies (Mosquitto's
   * `max_inflight_messages`) and `maxInFlight` bounds the work by pausing the socket.
   */
  receiveMaximum: number;
  keepaliveSeconds: number;
  username?: string;
  password?: string;
  /** TLS options (lib/mqtt-tls.ts), or none for plain TCP. */
  tls?: ConnectionOptions;
  logger: Logger;
  /** MQTT 5: how long the broker keeps the session (and queues for it) while disconnected. */
  sessionExpirySeconds?: number;
  /** Handlers running at once before the socket is paused; default `receiveMaximum`. */
  maxInFlight?: number;
  /** Time for TCP connect + CONNACK + SUBACK. */
  connectTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How long `stop()` and a failed hand-off wait for earlier messages to be confirmed. */
  drainTimeoutMs?: number;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  /** The broker says it may have sent this message before (redelivery after a reconnect). */
  dup: boolean;
  retain: boolean;
  /** Date.now() when the packet was parsed. */
  receivedAt: number;
  /** MQTT packet identifier (QoS 1 only); reused by the broker once acknowledged. */
  packetId?: number;
}

/** Confirms the hand-off (`done()`), or reports it failed (`done(err)`); calls after the first are ignored. */
export type Done = (err?: Error) => void;
export type MessageHandler = (msg: InboundMessage, done: Done) => void;

export interface SessionStats {
  connected: boolean;
  /** PUBLISH packets received (QoS 0 and 1, redeliveries included). */
  received: number;
  /** PUBACKs sent. */
  acked: number;
  /** Hand-offs that reported failure (each QoS 1 one causes a reconnect). */
  handlerFailures: number;
  /** Connection attempts after the first successful start. */
  reconnects: number;
  /** Handlers running now. */
  inFlight: number;
  /** QoS 1 messages received on this connection and not acknowledged yet. */
  unacknowledged: number;
}

export interface MqttSessionEvents {
  connected: [info: { sessionPresent: boolean; reconnect: boolean }];
  disconnected: [info: { reason: string; unacknowledged: number }];
  /** Packet ids just acknowledged, in the order sent. */
  acked: [packetIds: readonly number[]];
}

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** One TCP connection: packet ids, tickets and the backlog mean nothing beyond it. */
interface Connection {
  readonly serial: number;
  readonly socket: net.Socket;
  readonly parser: mqttPacket.Parser;
  readonly acks: AckSequencer;
  /** Parsed PUBLISH packets not yet handed off (at most what one socket read carried). */
  readonly backlog: { msg: InboundMessage; ticket: Ticket }[];
  connacked: boolean;
  ready: boolean;
  sessionPresent: boolean;
  draining: boolean;
  closed: boolean;
  paused: boolean;
  pingOutstanding: boolean;
  /** The socket was paused since the last PINGREQ, so a missing PINGRESP proves nothing. */
  pingExcused: boolean;
  /** Packet ids released by the sequencer and not yet written: one write per burst of confirmations. */
  pubacks: number[];
  closeReason: string;
  connectTimer?: NodeJS.Timeout;
  pingTimer?: NodeJS.Timeout;
  drainTimer?: NodeJS.Timeout;
  settleReady: (err?: Error) => void;
}

const SUBSCRIBE_PACKET_ID = 1; // one SUBSCRIBE per connection, so one id is enough
const PUBACK_FIRST_BYTE = 0x40;
const RETRIABLE_V5_CONNACK = new Set([0x88, 0x89, 0x97, 0x9f]); // unavailable, busy, quota, rate

export class MqttSession extends EventEmitter<MqttSessionEvents> {
  private readonly opts: Required<Omit<MqttSessionOptions, 'username' | 'password' | 'tls'>> &
    Pick<MqttSessionOptions, 'username' | 'password' | 'tls'>;
  private readonly log: Logger;
  private handler?: MessageHandler;
  private state: State = 'idle';
  private conn?: Connection;
  private serial = 0;
  private everReady = false;
  private readonly reconnectDelays: Backoff;
  private reconnectTimer?: NodeJS.Timeout;
  private pumping = false;
  private stopWaiters: (() => void)[] = [];
  private stopGuard?: NodeJS.Timeout;
  private counters = { received: 0, acked: 0, handlerFailures: 0, reconnects: 0, inFlight: 0 };

  constructor(options: MqttSessionOptions) {
    super();
    if (!Number.isInteger(options.receiveMaximum) || options.receiveMaximum < 1 || options.receiveMaximum > 65535) {
      throw new PipelineError(`receiveMaximum must be an integer in 1..65535, got ${options.receiveMaximum}`);
    }
    if (options.subscriptions.length === 0) throw new PipelineError('at least one subscription is required');
    this.opts = {
      sessionExpirySeconds: 86_400,
      maxInFlight: options.receiveMaximum,
      connectTimeoutMs: 10_000,
      reconnectMinMs: 100,
      reconnectMaxMs: 10_000,
      drainTimeoutMs: 10_000,
      ...options,
    };
    this.log = options.logger.child({ component: 'mqtt-session', clientId: options.clientId });
    // Jittered, so a fleet of bridges that lost the same broker does not return in lock-step.
    this.reconnectDelays = new Backoff({ minMs: this.opts.reconnectMinMs, maxMs: this.opts.reconnectMaxMs });
  }

  /** The one consumer of messages; set it before `start()`. */
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /**
   * Connects and subscribes; resolves on CONNACK + SUBACK. A failure of this first attempt
   * rejects (a ConnectionError when retrying may help) and leaves the session startable
   * again; after it succeeded, the session reconnects by itself until `stop()`.
   */
  async start(): Promise<void> {
    if (!this.handler) throw new PipelineError('onMessage(handler) must be called before start()');
    if (this.state !== 'idle') throw new PipelineError(`cannot start a session that is ${this.state}`);
    this.state = 'starting';
    await this.connect();
    if (this.state === 'starting') this.state = 'running';
  }

  /**
   * Graceful: stops handing off, waits (up to drainTimeoutMs) until every handed-off message
   * is confirmed and its PUBACK sent, then DISCONNECTs; the broker keeps the session and
   * redelivers whatever was not acknowledged to the next connection with this client id.
   */
  async stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    const stopped = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    if (this.state !== 'stopping') {
      this.state = 'stopping';
      this.clearReconnect();
      // Whatever happens, stop() returns: after the drain timeout and the close that follows it.
      this.stopGuard = setTimeout(() => {
        this.log.warn({ inFlight: this.counters.inFlight }, 'mqtt stop timed out with hand-offs still running');
        this.finishStop();
      }, this.opts.drainTimeoutMs + 2500);
      if (this.conn) this.drain(this.conn, 'stopping');
      else this.maybeFinishStop();
    }
    return stopped;
  }

  /**
   * Drops the connection without DISCONNECT and stays down, as a crash would: nothing more is
   * handed off or acknowledged (PUBACKs already written still reach the broker), and the
   * broker redelivers the rest to the next connection with this client id.
   */
  abort(): void {
    this.state = 'stopped';
    this.clearReconnect();
    if (this.conn) this.close(this.conn, 'aborted', 'end');
    else this.finishStop();
  }

  stats(): SessionStats {
    return {
      ...this.counters,
      connected: this.conn?.ready === true,
      unacknowledged: this.conn?.acks.pending ?? 0,
    };
  }

  get inFlight(): number {
    return this.counters.inFlight;
  }

  // --- connection lifecycle -------------------------------------------------------------

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { host, port, protocolVersion, tls } = this.opts;
      const socket = tls ? tlsConnect({ host, port, ...tls }) : net.connect({ host, port });
      let settled = false;
      const conn: Connection = {
        serial: ++this.serial,
        socket,
        parser: mqttPacket.parser({ protocolVersion }),
        acks: new AckSequencer(),
        backlog: [],
        connacked: false,
        ready: false,
        sessionPresent: false,
        draining: false,
        closed: false,
        paused: false,
        pingOutstanding: false,
        pingExcused: false,
        pubacks: [],
        closeReason: 'connection closed',
        settleReady: (err) => {
          if (settled) return;
          settled = true;
          if (err) reject(err);
          else resolve();
        },
      };
      this.conn = conn;
      socket.setNoDelay(true); // a PUBACK should not wait for Nagle
      conn.connectTimer = setTimeout(() => {
        this.close(conn, `not connected and subscribed within ${this.opts.connectTimeoutMs} ms`, 'destroy');
      }, this.opts.connectTimeoutMs);
      socket.on(tls ? 'secureConnect' : 'connect', () => {
        socket.setKeepAlive(true);
        this.send(conn, this.connectPacket());
      });
      socket.on('data', (chunk: Buffer) => conn.parser.parse(chunk));
      conn.parser.on('packet', (packet) => this.onPacket(conn, packet));
      conn.parser.on('error', (err: Error) => this.close(conn, `protocol error: ${err.message}`, 'destroy'));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!conn.closed) conn.closeReason = describeTlsError(err) ?? err.message;
      });
      socket.on('close', () => this.onClose(conn));
    });
  }

  private connectPacket(): mqttPacket.IConnectPacket {
    const o = this.opts;
    return {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      clean: false, // persistent session: what is not acknowledged survives us
      keepalive: o.keepaliveSeconds,
      ...(o.username ? { username: o.username } : {}),
      ...(o.password ? { password: Buffer.from(o.password) } : {}),
      ...(o.protocolVersion === 5
        ? { properties: { sessionExpiryInterval: o.sessionExpirySeconds, receiveMaximum: o.receiveMaximum } }
        : {}),
    };
  }

  /**
   * Ends a connection. 'disconnect' sends DISCONNECT first, 'end' does not (to the broker an
   * unexpected loss) but, like 'disconnect', still delivers the PUBACKs already written;
   * 'destroy' drops everything at once, for a connection that is broken anyway. The session
   * persists in every case (clean session false / a session expiry).
   */
  private close(conn: Connection, reason: string, how: 'disconnect' | 'end' | 'destroy'): void {
    if (conn.closed) return;
    if (how !== 'destroy') this.flushPubacks(conn); // confirmed before the close: acknowledge them
    conn.closed = true;
    conn.closeReason = reason;
    this.clearTimers(conn);
    conn.backlog.length = 0;
    if (how === 'destroy' || conn.socket.destroyed || !conn.socket.writable) {
      conn.socket.destroy();
      return;
    }
    if (how === 'disconnect' && conn.connacked) this.send(conn, { cmd: 'disconnect' }, true);
    conn.socket.end();
    conn.socket.resume(); // a paused socket never sees the broker's FIN, so it would never close
    // If the broker does not close its side promptly, do not hang.
    setTimeout(() => conn.socket.destroy(), 2000).unref();
  }

  private onClose(conn: Connection): void {
    conn.closed = true;
    this.clearTimers(conn);
    conn.backlog.length = 0;
    if (this.conn !== conn) return;
    this.conn = undefined;
    const unacknowledged = conn.acks.pending;
    const reason = conn.closeReason;
    if (conn.ready) {
      this.log[this.state === 'running' ? 'warn' : 'info'](
        { reason, unacknowledged, inFlight: this.counters.inFlight },
        'mqtt disconnected',
      );
      this.emit('disconnected', { reason, unacknowledged });
    }
    conn.settleReady(new ConnectionError(`mqtt ${this.opts.host}:${this.opts.port}: ${reason}`));

    if (this.state === 'starting') this.state = 'idle';
    else if (this.state === 'running') this.scheduleReconnect();
    else if (this.state === 'stopping') this.maybeFinishStop();
    else this.finishStop();
  }

  private scheduleReconnect(): void {
    const delay = this.reconnectDelays.next();
    this.log.info({ delayMs: delay, attempt: this.reconnectDelays.attempts }, 'mqtt reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state !== 'running') return;
      this.counters.reconnects++;
      // A failed attempt closes its connection, which schedules the next one.
      this.connect().catch((err: Error) => this.log.warn({ err: err.message }, 'mqtt reconnect failed'));
    }, delay);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private clearTimers(conn: Connection): void {
    clearTimeout(conn.connectTimer);
    clearInterval(conn.pingTimer);
    clearTimeout(conn.drainTimer);
  }

  /** Stopped once the connection is closed and no handler runs any more. */
  private maybeFinishStop(): void {
    if (this.state === 'stopping' && !this.conn && this.counters.inFlight === 0) this.finishStop();
  }

  private finishStop(): void {
    if (this.state === 'stopping') this.state = 'stopped';
    clearTimeout(this.stopGuard);
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Stop handing off on this connection, let what was handed off be confirmed and
   * acknowledged (up to drainTimeoutMs), then disconnect. Used by stop() and after a failed
   * hand-off, whose fence keeps that message and every later one unacknowledged.
   */
  private drain(conn: Connection, reason: string): void {
    if (conn.closed) return;
    if (!conn.draining) {
      conn.draining = true;
      // Nothing still in the backlog was handed off, so none of it may be acknowledged.
      const firstQueued = conn.backlog.find((b) => b.msg.qos === 1);
      conn.acks.fence(firstQueued ? firstQueued.ticket : conn.acks.nextTicket);
      conn.backlog.length = 0;
      this.updateFlow(conn);
      conn.closeReason = reason;
      conn.drainTimer = setTimeout(() => {
        this.log.warn({ unacknowledged: conn.acks.pending, inFlight: this.counters.inFlight }, 'mqtt drain timed out');
        this.close(conn, `${reason} (drain timed out)`, 'disconnect');
      }, this.opts.drainTimeoutMs);
    }
    this.closeIfDrained(conn);
  }

  private closeIfDrained(conn: Connection): void {
    if (!conn.draining || conn.closed || !conn.acks.settled) return;
    // A stop also waits for every handler (of older connections too), so that once stop()
    // resolves nothing is still using what the caller is about to close.
    if (this.state === 'stopping' && this.counters.inFlight > 0) return;
    this.close(conn, conn.closeReason, 'disconnect');
  }

  // --- packets in -------------------------------------------------------------------------

  private onPacket(conn: Connection, packet: mqttPacket.Packet): void {
    if (conn.closed) return;
    switch (packet.cmd) {
      case 'publish':
        return this.onPublish(conn, packet);
      case 'connack':
        return this.onConnack(conn, packet);
      case 'suback':
        return this.onSuback(conn, packet);
      case 'pingresp':
        conn.pingOutstanding = false;
        return;
      case 'disconnect': {
        // MQTT 5 only. 0x8E (session taken over) means another client uses our client id.
        const code = packet.reasonCode ?? 0;
        const text = packet.properties?.reasonString;
        this.log[code === 0x8e ? 'error' : 'warn']({ reasonCode: code, reasonString: text }, 'mqtt broker sent DISCONNECT');
        return this.close(conn, `broker DISCONNECT 0x${code.toString(16)}${text ? ` ${text}` : ''}`, 'destroy');
      }
      default:
        return this.close(conn, `protocol error: unexpected ${packet.cmd}`, 'destroy');
    }
  }

  private onConnack(conn: Connection, packet: mqttPacket.IConnackPacket): void {
    const v5 = this.opts.protocolVersion === 5;
    const code = (v5 ? packet.reasonCode : packet.returnCode) ?? 0;
    if (code !== 0) {
      // 3.1.1: 3 = server unavailable; MQTT 5: see RETRIABLE_V5_CONNACK. Others are refusals
      // (bad credentials, not authorised, bad client id) that retrying will not fix.
      const retriable = v5 ? RETRIABLE_V5_CONNACK.has(code) : code === 3;
      const reason = `CONNACK refused: code ${code}${packet.properties?.reasonString ? ` ${packet.properties.reasonString}` : ''}`;
      conn.settleReady(retriable ? new ConnectionError(reason) : new PipelineError(reason));
      if (this.state === 'running') this.log.error({ code }, 'mqtt broker refused the connection');
      return this.close(conn, reason, 'destroy');
    }
    conn.connacked = true;
    conn.sessionPresent = packet.sessionPresent;
    const keepalive = packet.properties?.serverKeepAlive ?? this.opts.keepaliveSeconds;
    if (keepalive > 0) this.startPings(conn, keepalive);
    // Subscribe every time: harmless when the session already has the subscriptions, and it
    // repairs a session the broker lost. MQTT 5: retain handling 1 = retained messages only
    // for a new subscription, so a reconnect does not replay them.
    this.send(conn, {
      cmd: 'subscribe',
      messageId: SUBSCRIBE_PACKET_ID,
      subscriptions: this.opts.subscriptions.map((topic) => (v5 ? { topic, qos: 1, nl: false, rap: false, rh: 1 } : { topic, qos: 1 })),
    });
  }

  private onSuback(conn: Connection, packet: mqttPacket.ISubackPacket): void {
    const granted = packet.granted as number[];
    const refused = this.opts.subscriptions.filter((_, i) => typeof granted[i] !== 'number' || granted[i] >= 0x80);
    if (refused.length > 0) {
      const reason = `SUBSCRIBE refused for ${refused.join(', ')} (codes ${granted.join(',')})`;
      this.log.error({ refused, granted }, 'mqtt subscription refused');
      conn.settleReady(new PipelineError(reason));
      return this.close(conn, reason, 'destroy');
    }
    const downgraded = this.opts.subscriptions.filter((_, i) => granted[i] === 0);
    if (downgraded.length > 0) this.log.warn({ downgraded }, 'mqtt broker granted QoS 0 only: no redelivery for these filters');
    clearTimeout(conn.connectTimer);
    conn.ready = true;
    const reconnect = this.everReady;
    this.everReady = true;
    if (reconnect && !conn.sessionPresent) {
      this.log.warn('mqtt broker had no session for us: messages published while disconnected are lost');
    }
    this.log.info(
      { sessionPresent: conn.sessionPresent, reconnect, connection: conn.serial, protocolVersion: this.opts.protocolVersion },
      'mqtt connected',
    );
    this.emit('connected', { sessionPresent: conn.sessionPresent, reconnect });
    conn.settleReady();
  }

  private onPublish(conn: Connection, packet: mqttPacket.IPublishPacket): void {
    if (!conn.connacked) return this.close(conn, 'protocol error: PUBLISH before CONNACK', 'destroy');
    if (packet.qos === 2 || (packet.qos === 1 && typeof packet.messageId !== 'number')) {
      return this.close(conn, `protocol error: PUBLISH qos ${packet.qos} not subscribed`, 'destroy');
    }
    // We never allow topic aliases (no Topic Alias Maximum in CONNECT), so one is a broker bug.
    if (packet.properties?.topicAlias !== undefined) return this.close(conn, 'protocol error: topic alias not allowed', 'destroy');
    this.counters.received++;
    if (conn.draining) return; // never handed off, never acknowledged: redelivered later
    const qos = packet.qos;
    const msg: InboundMessage = {
      topic: packet.topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos,
      dup: packet.dup,
      retain: packet.retain,
      receivedAt: Date.now(),
      packetId: qos === 1 ? packet.messageId : undefined,
    };
    const ticket = qos === 1 ? conn.acks.arrive(packet.messageId as number) : -1;
    conn.backlog.push({ msg, ticket });
    this.pump(conn);
  }

  // --- hand-off and acknowledgement -----------------------------------------------------

  /** Hands off queued messages while below the in-flight limit, then pauses or resumes reading. */
  private pump(conn: Connection): void {
    if (this.pumping) return; // a done() called synchronously inside a handler: the loop below continues
    this.pumping = true;
    try {
      while (conn.backlog.length > 0 && !conn.draining && !conn.closed && this.counters.inFlight < this.opts.maxInFlight) {
        const { msg, ticket } = conn.backlog.shift() as { msg: InboundMessage; ticket: Ticket };
        this.dispatch(conn, msg, ticket);
      }
    } finally {
      this.pumping = false;
    }
    this.updateFlow(conn);
  }

  private dispatch(conn: Connection, msg: InboundMessage, ticket: Ticket): void {
    this.counters.inFlight++;
    let called = false;
    const done: Done = (err) => {
      if (called) return;
      called = true;
      this.counters.inFlight--;
      this.onDone(conn, msg, ticket, err);
    };
    try {
      (this.handler as MessageHandler)(msg, done);
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onDone(conn: Connection, msg: InboundMessage, ticket: Ticket, err: Error | undefined): void {
    if (err) {
      this.counters.handlerFailures++;
      if (msg.qos === 1 && !conn.closed) {
        // This message and every later one stay unacknowledged; only a new connection makes
        // the broker send them again, so drain what came before and reconnect.
        // One failed batch fails many messages: say it once per connection.
        this.log[conn.draining ? 'debug' : 'warn'](
          { err: err.message, topic: msg.topic, packetId: msg.packetId },
          'mqtt hand-off failed; reconnecting for redelivery',
        );
        conn.acks.fence(ticket);
        this.drain(conn, `hand-off failed: ${err.message}`);
      } else if (msg.qos === 0) {
        this.log.warn({ err: err.message, topic: msg.topic }, 'mqtt hand-off of a QoS 0 message failed; it is lost');
      }
    } else {
      this.reconnectDelays.reset(); // the pipeline downstream works again: reconnect quickly next time
      if (msg.qos === 1 && !conn.closed) {
        const ids = conn.acks.confirm(ticket);
        if (ids.length > 0) this.queuePubacks(conn, ids);
      }
    }
    if (this.conn && this.conn !== conn) this.closeIfDrained(this.conn); // an old handler finished during a stop
    this.closeIfDrained(conn);
    this.maybeFinishStop();
    if (this.conn && !this.conn.closed) this.pump(this.conn);
  }

  /**
   * A produce request settles its records one by one, in arrival order, so each confirmation
   * releases one packet id: written at once, that was a 4-byte socket write per message (13 %
   * of the bridge's CPU in its profile). Released ids wait for the end of the current job and
   * go out together.
   */
  private queuePubacks(conn: Connection, ids: readonly number[]): void {
    if (conn.pubacks.length === 0) queueMicrotask(() => this.flushPubacks(conn));
    for (const id of ids) conn.pubacks.push(id);
  }

  private flushPubacks(conn: Connection): void {
    if (conn.pubacks.length === 0) return;
    const ids = conn.pubacks;
    conn.pubacks = [];
    if (!conn.closed && !conn.socket.destroyed) this.sendPubacks(conn, ids);
  }

  /**
   * PUBACK without reason code or properties is the same four bytes in 3.1.1 and 5
   * (0x40, length 2, packet id), so a run of them is one buffer and one write.
   */
  private sendPubacks(conn: Connection, ids: readonly number[]): void {
    const buf = Buffer.allocUnsafe(ids.length * 4);
    for (let i = 0; i < ids.length; i++) {
      buf[i * 4] = PUBACK_FIRST_BYTE;
      buf[i * 4 + 1] = 2;
      buf.writeUInt16BE(ids[i], i * 4 + 2);
    }
    conn.socket.write(buf);
    this.counters.acked += ids.length;
    this.emit('acked', ids);
  }

  /**
   * Back-pressure: read from the socket only while there is room for more hand-offs. The
   * broker then queues for us (MQTT 3.1.1 has no Receive Maximum to say this in-protocol).
   */
  private updateFlow(conn: Connection): void {
    if (conn.closed) return;
    const pause = conn.draining || conn.backlog.length > 0 || this.counters.inFlight >= this.opts.maxInFlight;
    if (pause === conn.paused) return;
    conn.paused = pause;
    if (pause) {
      conn.socket.pause();
      conn.pingExcused = true;
    } else {
      conn.socket.resume();
    }
  }

  // --- keepalive ------------------------------------------------------------------------

  /**
   * PINGREQ every half keepalive; a PINGRESP missing by the next tick means the connection
   * is dead. While the socket is paused a PINGRESP cannot be read, so that tick is excused
   * (the broker still sees our PINGREQs and keeps us).
   */
  private startPings(conn: Connection, keepaliveSeconds: number): void {
    conn.pingTimer = setInterval(
      () => {
        if (conn.closed) return;
        if (conn.pingOutstanding && !conn.pingExcused) {
          return this.close(conn, `no PINGRESP within ${keepaliveSeconds / 2} s`, 'destroy');
        }
        conn.pingExcused = conn.paused;
        conn.pingOutstanding = true;
        this.send(conn, { cmd: 'pingreq' });
      },
      (keepaliveSeconds * 1000) / 2,
    );
    conn.pingTimer.unref();
  }

  private send(conn: Connection, packet: mqttPacket.Packet, evenIfClosed = false): void {
    if ((conn.closed && !evenIfClosed) || conn.socket.destroyed) return;
    conn.socket.write(mqttPacket.generate(packet, { protocolVersion: this.opts.protocolVersion }));
  }
}
