import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../lib/log';
import { mqttTlsOptions } from '../lib/mqtt-tls';
import { generateFleet } from './fleet';
import { toJsonLine, type GroundTruthEvent } from '../schemas/ground-truth';
import { effectiveInterval, resolveConfig, type SimulatorConfig } from './options';
import { Pacer } from './pacer';
import { encodePayload, topicFor } from './payload';
import { toFleetPlan } from './plan';
import { deviceId } from './profile';
import { progressLine, type Counters } from './progress';
import { Publisher } from './publisher';
import { batchPayload, Gateways, type Batch } from './gateway';
import type { Emission } from './device';

export interface SimulationSummary {
  seed: number;
  devices: number;
  /** Seconds between one device's readings (after `--rate`). */
  intervalSeconds: number;
  /** Distinct readings published. */
  readings: number;
  /** Readings sent: distinct ones plus injected duplicates (in gateway batches, each element counts). */
  published: number;
  /** Of those, the ones whose PUBLISH the broker acknowledged (PUBACK); at QoS 0, written to the socket. */
  acked: number;
  /** PUBLISH packets sent: `published` with one reading per message, fewer with `--batch`. */
  messages: number;
  failed: number;
  duplicates: number;
  publishedByDevice: Record<string, number>;
  ackedByDevice: Record<string, number>;
  groundTruthEvents: number;
  /** Device time of the first and last reading published, epoch ms. */
  firstTimestampMs: number | null;
  lastTimestampMs: number | null;
  elapsedSeconds: number;
  /** Acknowledged publishes per wall-clock second over the run. */
  ackedPerSecond: number;
  /** Stopped by a signal (or the caller's AbortSignal) before the plan ran out. */
  interrupted: boolean;
  /** Every publish was acknowledged (or failed) before disconnecting. */
  drained: boolean;
}

export interface RunHooks {
  /** Abort to stop: generation stops, outstanding PUBACKs are awaited, then disconnect. */
  signal?: AbortSignal;
  log?: Logger;
  /** Called for every publish, with the exact topic and payload sent. */
  onPublish?: (emission: Emission, topic: string, payload: string) => void;
  /** Where progress lines go (default stderr); shown when config.output.progress or a TTY. */
  progress?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Wall time the run starts from (the default device start time); tests pin it. */
  nowMs?: number;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type FleetOptions = DeepPartial<SimulatorConfig> & RunHooks;

/**
 * Programmatic entry point for tests and benchmarks: options as in SimulatorConfig (any subset;
 * the rest are the schema defaults, the environment is not read), validated like the CLI's.
 */
export async function simulateFleet(options: FleetOptions): Promise<SimulationSummary> {
  const { signal, log, onPublish, progress, nowMs, ...config } = options;
  const resolved = resolveConfig(flatten(config), {});
  return runSimulation(resolved, { signal, log, onPublish, progress, nowMs });
}

export async function runSimulation(config: SimulatorConfig, hooks: RunHooks = {}): Promise<SimulationSummary> {
  const log = hooks.log ?? createLogger('simulator');
  const seed = config.fleet.seed ?? randomInt(0, 2 ** 31);
  const wallStartMs = hooks.nowMs ?? Date.now();
  const plan = toFleetPlan(config, seed, wallStartMs);
  const { mqtt, fleet } = config;

  let groundTruth: WriteStream | null = null;
  if (config.output.groundTruth) {
    groundTruth = createWriteStream(config.output.groundTruth);
    await once(groundTruth, 'open');
  }
  let groundTruthEvents = 0;
  const onEvent = (event: GroundTruthEvent) => {
    groundTruthEvents += 1;
    groundTruth?.write(toJsonLine(event));
  };

  const tls = mqttTlsOptions(mqtt);
  log.info(
    {
      seed,
      devices: plan.deviceCount,
      intervalSeconds: plan.intervalMs / 1000,
      broker: `${mqtt.broker}:${mqtt.port}`,
      topic: mqtt.perDeviceTopics ? 'devices/<id>/telemetry' : mqtt.topic,
      qos: mqtt.qos,
      count: fleet.count || null,
      duration: fleet.duration || null,
    },
    'simulator starting',
  );
  const publisher = await Publisher.connect(
    {
      host: mqtt.broker,
      port: mqtt.port,
      username: mqtt.username,
      password: mqtt.password,
      tls,
      clientId: mqtt.clientId || `iot-sim-${randomBytes(4).toString('hex')}`,
      protocolVersion: mqtt.version,
      qos: mqtt.qos,
      window: mqtt.inflight,
      backoff: { minMs: mqtt.reconnectMin * 1000, maxMs: mqtt.reconnectMax * 1000 },
      log,
    },
    hooks.signal,
  ).catch(async (err: unknown) => {
    if (groundTruth) await new Promise<void>((resolve) => groundTruth!.end(resolve));
    throw err;
  });

  const counters: Counters = { published: 0, acked: 0, failed: 0, inFlight: 0 };
  const ids = Array.from({ length: plan.deviceCount }, (_, i) => deviceId(plan.idPrefix, i, plan.deviceCount));
  const publishedBy: number[] = new Array(plan.deviceCount).fill(0);
  const ackedBy: number[] = new Array(plan.deviceCount).fill(0);
  let readings = 0;
  let duplicates = 0;
  let firstTs: number | null = null;
  let lastTs: number | null = null;

  const out = hooks.progress ?? process.stderr;
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  const ticker = config.output.progress || tty ? startProgress(out, tty, counters, publisher, () => lastTs) : null;

  let messages = 0;
  /** One PUBLISH of the readings of `emissions` (one, or a gateway's batch), counted per reading. */
  const publish = async (topic: string, payload: string, emissions: readonly Emission[]): Promise<void> => {
    for (const emission of emissions) {
      hooks.onPublish?.(emission, topic, payload);
      counters.published += 1;
      publishedBy[emission.device] += 1;
      if (emission.duplicate) duplicates += 1;
      else readings += 1;
      firstTs ??= emission.reading.timeMs;
      lastTs = emission.reading.timeMs;
    }
    messages += 1;
    await publisher.publish(topic, payload, (err) => {
      if (err) {
        counters.failed += emissions.length;
        log.warn({ err: err.message, device_id: emissions[0].reading.device_id, readings: emissions.length }, 'publish failed');
      } else {
        counters.acked += emissions.length;
        for (const emission of emissions) ackedBy[emission.device] += 1;
      }
    });
  };
  const gateways = fleet.batch > 1 ? new Gateways<{ emission: Emission; payload: string }>(fleet.batch) : null;
  const publishBatch = (batch: Batch<{ emission: Emission; payload: string }>) =>
    publish(
      mqtt.topic,
      batchPayload(batch.items.map((i) => i.payload)),
      batch.items.map((i) => i.emission),
    );

  const pacer = new Pacer(plan.startMs, wallStartMs, fleet.speedup, fleet.noWait);
  const signal = hooks.signal;
  let interrupted = false;
  try {
    for (const emission of generateFleet(plan, onEvent)) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const wait = pacer.waitMs(emission.emitAtMs, Date.now());
      if (wait >= 1) {
        try {
          await sleep(wait, undefined, { signal });
        } catch {
          interrupted = true;
          break;
        }
      }
      const { reading, device } = emission;
      const payload = encodePayload(reading, fleet.timestampFormat, fleet.withSeq);
      if (gateways === null) {
        const topic = topicFor(reading.device_id, mqtt.topic, mqtt.perDeviceTopics);
        await publish(topic, payload, [emission]);
      } else {
        const full = gateways.add(device, { emission, payload });
        if (full !== undefined) await publishBatch(full);
      }
    }
    // A gateway still holding readings sends them before the run ends (not when interrupted:
    // an interrupted run stops generating, and these were never handed to MQTT).
    if (gateways !== null && !interrupted) for (const batch of gateways.drain()) await publishBatch(batch);
  } finally {
    ticker?.stop();
  }
  // Flush even when interrupted: readings already handed to MQTT.js are waiting for PUBACK.
  const drained = await publisher.drain(mqtt.drainTimeout * 1000);
  if (!drained) log.warn({ unacknowledged: publisher.inFlight }, 'stopped waiting for PUBACKs (drain timeout)');
  await publisher.close(!drained);
  if (groundTruth) await new Promise<void>((resolve) => groundTruth!.end(resolve));

  const elapsedSeconds = (Date.now() - wallStartMs) / 1000;
  const byId = (values: number[]) => Object.fromEntries(ids.map((id, i) => [id, values[i]]));
  return {
    seed,
    devices: plan.deviceCount,
    intervalSeconds: effectiveInterval(fleet),
    readings,
    published: counters.published,
    acked: counters.acked,
    messages,
    failed: counters.failed,
    duplicates,
    publishedByDevice: byId(publishedBy),
    ackedByDevice: byId(ackedBy),
    groundTruthEvents,
    firstTimestampMs: firstTs,
    lastTimestampMs: lastTs,
    elapsedSeconds,
    ackedPerSecond: counters.acked / Math.max(elapsedSeconds, 1e-9),
    interrupted,
    drained,
  };
}

/** Prints a progress line every second: overwritten in place on a terminal, one per line otherwise. */
function startProgress(
  out: NodeJS.WritableStream,
  tty: boolean,
  counters: Counters,
  publisher: Publisher,
  simTime: () => number | null,
): { stop(): void } {
  let before: Counters = { ...counters };
  let last = Date.now();
  const write = (final: boolean) => {
    const now = Date.now();
    const snapshot = { ...counters, inFlight: publisher.inFlight };
    const line = progressLine(snapshot, before, (now - last) / 1000, simTime());
    out.write(tty ? `\r${line}\x1b[K${final ? '\n' : ''}` : `${line}\n`);
    before = snapshot;
    last = now;
  };
  const timer = setInterval(() => write(false), 1000);
  return {
    stop() {
      clearInterval(timer);
      write(true);
    },
  };
}

/** `{ fleet: { deviceCount: 5 } }` → `{ 'fleet.deviceCount': 5 }`, the override form loadConfig takes. */
function flatten(value: object, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatten(v, path));
    else if (v !== undefined) out[path] = v;
  }
  return out;
}
