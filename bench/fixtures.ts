import { DEFAULT_READING_RULES, parseReading } from '../bridge/reading';
import type { Reading } from '../schemas';
import { generateFleet } from '../simulator/fleet';
import { resolveConfig } from '../simulator/options';
import { encodePayload } from '../simulator/payload';
import { toFleetPlan } from '../simulator/plan';
import { testKafka } from '../testkit/kafka';

/** Same seed, same fleet: runs compare like with like. */
export const BENCH_SEED = 42;

export interface FleetSample {
  /** Device JSON payloads, as devices publish them. */
  payloads: string[];
  /** The records the bridge makes of those payloads (its own parser), as they travel in Kafka. */
  readings: Reading[];
}

/**
 * `total` readings from the project's simulator: `devices` devices, one reading each per
 * 10 s, ending about now (so nothing is in the bridge's future nor past retention).
 * Normal data (no anomalies, no dropouts), so every reading is valid and counts.
 */
export function fleetSample(total: number, devices: number): FleetSample {
  const count = Math.ceil(total / devices);
  const intervalS = 10;
  const startMs = Math.floor(Date.now() / 1000) * 1000 - (count + 1) * intervalS * 1000;
  const plan = toFleetPlan(
    resolveConfig({
      'fleet.deviceCount': devices,
      'fleet.interval': intervalS,
      'fleet.count': count,
      'fleet.withSeq': true,
      'anomalies.rate': 0,
      'dropouts.rate': 0,
    }),
    BENCH_SEED,
    startMs,
  );
  const payloads: string[] = [];
  const readings: Reading[] = [];
  const receivedAt = Date.now();
  for (const e of generateFleet(plan, () => undefined)) {
    if (payloads.length >= total) break;
    const payload = encodePayload(e.reading, 's.ms', true);
    const parsed = parseReading(Buffer.from(payload), DEFAULT_READING_RULES.defaultTopic, receivedAt, DEFAULT_READING_RULES);
    if (!parsed.ok) throw new Error(`simulator payload rejected by the bridge's parser: ${parsed.reason} ${parsed.detail}`);
    payloads.push(payload);
    readings.push(parsed.reading);
  }
  return { payloads, readings };
}

/** Topics this run created; a benchmark leaves nothing behind. */
export async function deleteTopics(names: string[]): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: names });
  } catch {
    // Best effort: a topic left behind costs disk, not correctness.
  } finally {
    await admin.disconnect();
  }
}
