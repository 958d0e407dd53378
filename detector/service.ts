import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { AcknowledgedSender } from '../lib/acknowledged-send';
import { AvroCodec, DecodeError } from '../lib/avro';
import { Backoff } from '../lib/backoff';
import { readRanges, OffsetRange } from '../lib/kafka-range';
import { Logger } from '../lib/log';
import { partitionOfKey } from '../lib/partition';
import type { Alert, Reading } from '../schemas';
import { sendAlerts } from './alert-send';
import { Detector } from './detector';
import { DetectorPrometheus } from './prometheus';
import { alertsFromTimestampMs, commitMetadata, CommitPosition, parseCommitMetadata, replayFromTimestampMs } from './replay-plan';
import type { DetectorSettings } from './settings';

export interface DetectorLoopOptions {
  groupId: string;
  telemetryTopic: string;
  alertsTopic: string;
  fromBeginning: boolean;
  caughtUpLag: number;
  settings: DetectorSettings;
}

export interface DetectorClients {
  kafka: Kafka;
  admin: Admin;
  consumer: Consumer;
  /** Sends alerts, checking every partition's acknowledgement. */
  alertSender: AcknowledgedSender;
  readings: AvroCodec<Reading>;
  alerts: AvroCodec<Alert>;
}

const RETRY_MAX_MS = 5000;

/**
 * The detector's consumer loop around the pure `Detector`.
 *
 * Every assignment starts a fresh Detector and, before any live record of the new
 * assignment is judged, re-reads the history the rules need (replay mode: state only)
 * and recalls the alerts the group already produced (README, "Restarts and replay").
 * Per batch: feed the readings, produce the alerts they raise (acks=all, retried until
 * sent), then commit the offset. So an alert is never lost (its reading is not committed
 * before it is on the topic) and never repeated (a restarted detector recalls it by id).
 */
export class DetectorLoop {
  private detector: Detector;
  /** Resolves when the current assignment has been prepared; rejects if that failed. */
  private ready: Promise<void> = Promise.resolve();
  private live = false;
  private generation = 0;
  private assigned: number[] = [];
  private partitionCount = 0;
  /** Next offset to judge, per assigned partition. */
  private readonly next = new Map<number, bigint>();
  private lastBatchWallMs = 0;
  private ticking = false;

  constructor(
    private readonly clients: DetectorClients,
    private readonly options: DetectorLoopOptions,
    private readonly metrics: DetectorPrometheus,
    private readonly logger: Logger,
    private readonly isStopping: () => boolean,
  ) {
    this.detector = this.newDetector();
  }

  get isLive(): boolean {
    return this.live;
  }

  /** Call on every GROUP_JOIN with the telemetry partitions this member now owns. */
  onAssignment(partitions: number[]): void {
    const generation = ++this.generation;
    this.live = false;
    this.assigned = [...partitions].sort((a, b) => a - b);
    const started = Date.now();
    this.ready = this.prepare(generation).then(() => {
      if (generation !== this.generation) return;
      this.live = true;
      this.metrics.replaySeconds.observe((Date.now() - started) / 1000);
    });
    // A failure surfaces in the next batch (which throws, so KafkaJS rejoins and we prepare again).
    this.ready.catch((err) => this.logger.error({ err }, 'preparing the assignment failed'));
  }

  readonly eachBatch = async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> => {
    await waitHeartbeating(this.ready, heartbeat);
    if (batch.topic !== this.options.telemetryTopic || !this.next.has(batch.partition) || isStale()) return;
    const messages = batch.messages;
    if (messages.length === 0) return;
    const { readings } = this.clients;
    await readings.prepare(messages.map((m) => m.value));

    let next = this.next.get(batch.partition)!;
    const alerts: Alert[] = [];
    for (const message of messages) {
      if (BigInt(message.offset) < next) continue; // already judged in this assignment
      let reading: Reading;
      try {
        reading = readings.decode(message.value);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.metrics.undecodable.inc();
        continue;
      }
      const raised = this.detector.onReading(reading);
      for (let i = 0; i < raised.length; i++) alerts.push(raised[i]);
    }
    await this.produce(alerts, () => isRunning() && !isStale());

    const last = messages[messages.length - 1];
    next = BigInt(last.offset) + 1n;
    await this.clients.consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: next.toString(), metadata: commitMetadata(Number(last.timestamp)) },
    ]);
    // KafkaJS fetches on from the resolved offset (auto-resolve is off: nothing counts as done before its commit).
    resolveOffset(last.offset);
    this.next.set(batch.partition, next);
    this.lastBatchWallMs = Date.now();
    this.metrics.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, Number(BigInt(batch.highWatermark) - next)),
    );
    await heartbeat();
  };

  /**
   * The silence checks, from a timer. Caught up means every assigned partition is within
   * DETECTOR_CAUGHT_UP_LAG of its end; only then is silence judged. While caught up, event
   * time is taken to advance with the wall clock since the last batch, so a fleet that
   * stops entirely (or a lone device) is still noticed.
   */
  async tick(): Promise<void> {
    if (!this.live || this.ticking) return;
    this.ticking = true;
    try {
      const generation = this.generation;
      const ends = await this.clients.admin.fetchTopicOffsets(this.options.telemetryTopic);
      if (generation !== this.generation || !this.live) return;
      let lag = 0;
      for (const end of ends) {
        const next = this.next.get(end.partition);
        if (next === undefined) continue;
        const behind = Math.max(0, Number(BigInt(end.high) - next));
        lag += behind;
        this.metrics.lag.set({ topic: this.options.telemetryTopic, partition: String(end.partition) }, behind);
      }
      const caughtUp = lag <= this.options.caughtUpLag;
      const now = Date.now();
      const idleUs = caughtUp && this.lastBatchWallMs > 0 ? Math.max(0, now - this.lastBatchWallMs) * 1000 : 0;
      const alerts = this.detector.onTick(this.detector.eventTimeWatermarkUs + idleUs, caughtUp, now);
      this.metrics.caughtUp.set(caughtUp ? 1 : 0);
      this.metrics.devices.set(this.detector.deviceCount);
      if (Number.isFinite(this.detector.maxEventTimeUs)) this.metrics.eventTimeLag.set(now / 1000 - this.detector.maxEventTimeUs / 1e6);
      await this.produce(alerts, () => generation === this.generation && !this.isStopping());
    } finally {
      this.ticking = false;
    }
  }

  private newDetector(): Detector {
    const detector = new Detector(this.options.settings);
    this.metrics.follow(detector.metrics);
    return detector;
  }

  /** Replay, then recall: see the class comment. */
  private async prepare(generation: number): Promise<void> {
    const { admin, kafka, readings } = this.clients;
    const { telemetryTopic, groupId } = this.options;
    const detector = this.newDetector();
    this.detector = detector;
    this.next.clear();

    const [committed] = await admin.fetchOffsets({ groupId, topics: [telemetryTopic] });
    const ends = await admin.fetchTopicOffsets(telemetryTopic);
    this.partitionCount = ends.length;
    const mine = new Set(this.assigned);
    const positions: CommitPosition[] = committed.partitions
      .filter((p) => mine.has(p.partition))
      .map((p) => ({ partition: p.partition, offset: BigInt(p.offset), lastTimestampMs: parseCommitMetadata(p.metadata) }));
    // Where live judging starts: the committed offset, else where a new group begins.
    for (const end of ends) {
      if (!mine.has(end.partition)) continue;
      const pos = positions.find((p) => p.partition === end.partition);
      const start = pos && pos.offset >= 0n ? pos.offset : BigInt(this.options.fromBeginning ? end.low : end.high);
      this.next.set(end.partition, start);
    }

    const fromMs = replayFromTimestampMs(positions, detector.replayHorizonUs, this.options.settings.maxFutureSeconds);
    if (fromMs === null) {
      this.logger.info({ partitions: this.assigned }, 'assignment ready: no history to replay');
      return;
    }
    const starts = await admin.fetchTopicOffsetsByTimestamp(telemetryTopic, fromMs);
    const ranges: OffsetRange[] = positions
      .filter((p) => p.offset >= 0n)
      .map((p) => ({
        topic: telemetryTopic,
        partition: p.partition,
        from: BigInt(starts.find((s) => s.partition === p.partition)?.offset ?? p.offset),
        to: p.offset,
      }));
    const replayed = await readRanges(kafka, admin, ranges, async (_topic, _partition, messages) => {
      await readings.prepare(messages.map((m) => m.value));
      for (const m of messages) {
        try {
          detector.onReading(readings.decode(m.value), undefined, 'replay');
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }
    });
    this.metrics.replayed.inc(replayed);
    const recalled = await this.recallAlerts(detector, alertsFromTimestampMs(fromMs, detector.replayHorizonUs), mine);
    if (generation === this.generation) {
      this.logger.info({ partitions: this.assigned, replayed, recalled, fromMs }, 'assignment ready: windows rebuilt, alerts recalled');
    }
  }

  /** Tells the detector the alerts already produced for devices of these partitions, in topic order. */
  private async recallAlerts(detector: Detector, fromMs: number, partitions: Set<number>): Promise<number> {
    const { admin, kafka, alerts } = this.clients;
    const topic = this.options.alertsTopic;
    const [starts, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, fromMs), admin.fetchTopicOffsets(topic)]);
    const ranges: OffsetRange[] = ends.map((end) => ({
      topic,
      partition: end.partition,
      from: BigInt(starts.find((s) => s.partition === end.partition)?.offset ?? end.high),
      to: BigInt(end.high),
    }));
    let recalled = 0;
    await readRanges(kafka, admin, ranges, async (_topic, _partition, messages) => {
      await alerts.prepare(messages.map((m) => m.value));
      for (const m of messages) {
        let alert: Alert;
        try {
          alert = alerts.decode(m.value);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          continue;
        }
        if (!partitions.has(partitionOfKey(alert.device_id, this.partitionCount))) continue;
        detector.rememberAlert(alert);
        recalled++;
      }
    });
    return recalled;
  }

  /** Sends alerts (acks=all), retrying with back-off while `keepTrying()` holds. */
  private async produce(alerts: readonly Alert[], keepTrying: () => boolean): Promise<void> {
    if (alerts.length === 0) return;
    const backoff = new Backoff({ minMs: 100, maxMs: RETRY_MAX_MS });
    for (;;) {
      try {
        await sendAlerts(this.clients.alertSender, this.clients.alerts, this.options.alertsTopic, alerts);
        return;
      } catch (err) {
        this.metrics.produceFailures.inc();
        if (!keepTrying()) throw err;
        const delay = backoff.next();
        this.logger.warn({ err, backoffMs: delay }, 'sending alerts failed, retrying');
        await sleep(delay);
      }
    }
  }
}

/** Awaits `promise`, heartbeating the group meanwhile so a long replay does not cost the assignment. */
async function waitHeartbeating(promise: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
  let settled = false;
  const done = promise.finally(() => (settled = true));
  while (!settled) {
    await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
    if (!settled) await heartbeat().catch(() => undefined);
  }
  await done;
}
