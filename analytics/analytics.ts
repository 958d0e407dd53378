import type { SqlRunner } from '../db/migrate';
import { storedReadingOf, type StoredReading } from '../schemas';
import { SchemaMissingError } from './errors';
import {
  DEVICE_STATISTICS,
  FLEET_SUMMARY,
  INACTIVE_DEVICES,
  LATEST_READINGS,
  LOW_BATTERY,
  Metric,
  METRICS,
  TEMPERATURE_ANOMALIES,
  TIME_SERIES_RAW,
  TIME_SERIES_ROLLUP,
} from './queries';
import { assertBucketCount, chooseSource, parseBucketWidth, ruleFor, TelemetrySource } from './rollup';
import { positive, positiveInt, zScore } from './stats';

/** Over the readings that have the metric; all null when none has it (stddev also with one). */
export interface MetricStatistics {
  avg: number | null;
  min: number | null;
  max: number | null;
  stddev: number | null;
  count: number;
}

export interface DeviceStatistics {
  deviceId: string;
  readings: number;
  firstSeen: Date;
  lastSeen: Date;
  temperature: MetricStatistics;
  humidity: MetricStatistics;
  battery: MetricStatistics;
}

export interface TemperatureAnomaly extends StoredReading {
  temperature: number;
  mean: number;
  stddev: number;
  /** Signed: above the mean positive. */
  zScore: number;
}

export interface AnomalyReport {
  /** All anomalies in the window; `anomalies` holds the newest `limit` of them. */
  total: number;
  anomalies: TemperatureAnomaly[];
}

export interface LowBatteryDevice {
  deviceId: string;
  battery: number;
  /** Device time of that battery reading. */
  time: Date;
}

export interface InactiveDevice {
  deviceId: string;
  lastSeen: Date;
  silentMinutes: number;
}

export interface BucketStatistics {
  avg: number | null;
  min: number | null;
  max: number | null;
}

export interface TimeSeriesPoint {
  bucket: Date;
  deviceId: string;
  readings: number;
  temperature: BucketStatistics;
  humidity: BucketStatistics;
  battery: BucketStatistics;
}

export interface TimeSeries {
  bucket: string;
  /** Where the buckets older than the rollup's lag came from (newer ones always from the raw table). */
  source: TelemetrySource;
  /** Newest bucket first, devices in order within one. */
  points: TimeSeriesPoint[];
}

export interface TimeSeriesOptions {
  /** Bucket width, a PostgreSQL interval: '5 minutes', '1 hour', '1 day'. Default '5 minutes'. */
  bucket?: string;
  /** Range in hours back from now, widened to whole buckets. Default 24. */
  hours?: number;
  deviceId?: string;
  /** 'auto' (default) applies the rollup rule; a name forces that relation. */
  source?: 'auto' | TelemetrySource;
}

export interface FleetSummary {
  devices: number;
  readings: number;
  firstReading: Date | null;
  lastReading: Date | null;
  temperatureAvg: number | null;
  humidityAvg: number | null;
  batteryAvg: number | null;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const count = (v: unknown): number => Number(v ?? 0);

function metricStatistics(r: Row, m: Metric): MetricStatistics {
  return {
    avg: num(r[`${m}_avg`]),
    min: num(r[`${m}_min`]),
    max: num(r[`${m}_max`]),
    stddev: num(r[`${m}_stddev`]),
    count: count(r[`${m}_count`]),
  };
}

function bucketStatistics(r: Row, m: Metric): BucketStatistics {
  return { avg: num(r[`${m}_avg`]), min: num(r[`${m}_min`]), max: num(r[`${m}_max`]) };
}

/**
 * The analytics engine over the pipeline's tables: anything with pg's `query` (a Pool,
 * a Client). Windows are relative to the database's now(); "latest" is the newest device time.
 */
export class IoTAnalytics {
  constructor(private readonly db: Pick<SqlRunner, 'query'>) {}

  /** The newest `limit` readings of a device, newest device time first (not arrival order). */
  async latestReadings(deviceId: string, limit = 10): Promise<StoredReading[]> {
    const { rows } = await this.query(LATEST_READINGS, [deviceId, positiveInt('limit', limit)]);
    return rows.map(storedReadingOf);
  }

  /** Statistics of one device over the last `hours`; undefined when it has no reading there. */
  async deviceStatistics(deviceId: string, hours = 24): Promise<DeviceStatistics | undefined> {
    return (await this.statistics(hours, deviceId))[0];
  }

  /** Statistics of every device with a reading in the last `hours`, by device id. */
  async allDeviceStatistics(hours = 24): Promise<DeviceStatistics[]> {
    return this.statistics(hours, null);
  }

  /**
   * Readings of the last `hours` whose temperature is more than `thresholdStddev` sample
   * standard deviations from their device's mean over the same window; newest first.
   */
  async temperatureAnomalies(
    options: { thresholdStddev?: number; hours?: number; deviceId?: string; limit?: number } = {},
  ): Promise<AnomalyReport> {
    const { thresholdStddev = 2.0, hours = 24, deviceId, limit = 100 } = options;
    const { rows } = await this.query(TEMPERATURE_ANOMALIES, [
      positive('thresholdStddev', thresholdStddev),
      positive('hours', hours),
      deviceId ?? null,
      positiveInt('limit', limit),
    ]);
    return {
      total: rows.length > 0 ? count(rows[0].total) : 0,
      anomalies: rows.map((r) => {
        const mean = Number(r.mean);
        const stddev = Number(r.stddev);
        const temperature = Number(r.temperature);
        return { ...storedReadingOf(r), temperature, mean, stddev, zScore: zScore(temperature, mean, stddev) };
      }),
    };
  }

  /** Devices whose newest battery reading is below `threshold` percent, lowest first. */
  async lowBatteryDevices(threshold = 20.0): Promise<LowBatteryDevice[]> {
    const { rows } = await this.query(LOW_BATTERY, [positive('threshold', threshold)]);
    return rows.map((r) => ({ deviceId: r.device_id as string, battery: Number(r.battery), time: r.time as Date }));
  }

  /** Devices that have sent nothing for `minutes` (by device time), longest silent first. */
  async inactiveDevices(minutes = 10): Promise<InactiveDevice[]> {
    const { rows } = await this.query(INACTIVE_DEVICES, [positive('minutes', minutes)]);
    return rows.map((r) => ({ deviceId: r.device_id as string, lastSeen: r.last_seen as Date, silentMinutes: Number(r.silent_minutes) }));
  }

  /** Per-device buckets of any width; long ranges read a rollup (see README, "The rollup rule"). */
  async timeSeries(options: TimeSeriesOptions = {}): Promise<TimeSeries> {
    const { hours = 24, deviceId, source = 'auto' } = options;
    const width = parseBucketWidth(options.bucket ?? '5 minutes');
    positive('hours', hours);
    assertBucketCount(width, hours);
    const chosen = source === 'auto' ? chooseSource(width, hours) : source;
    if (chosen !== 'device_telemetry') ruleFor(chosen, width); // refuses a rollup that cannot serve the width
    const { rows } = await this.query(chosen === 'device_telemetry' ? TIME_SERIES_RAW : TIME_SERIES_ROLLUP[chosen], [
      width.text,
      hours,
      deviceId ?? null,
    ]);
    return {
      bucket: width.text,
      source: chosen,
      points: rows.map((r) => ({
        bucket: r.bucket as Date,
        deviceId: r.device_id as string,
        readings: count(r.readings),
        temperature: bucketStatistics(r, 'temperature'),
        humidity: bucketStatistics(r, 'humidity'),
        battery: bucketStatistics(r, 'battery'),
      })),
    };
  }

  /** Fleet-wide figures over the last `hours`. */
  async fleetSummary(hours = 24): Promise<FleetSummary> {
    const { rows } = await this.query(FLEET_SUMMARY, [positive('hours', hours)]);
    const r = rows[0];
    return {
      devices: count(r.devices),
      readings: count(r.readings),
      firstReading: (r.first_reading as Date | null) ?? null,
      lastReading: (r.last_reading as Date | null) ?? null,
      temperatureAvg: num(r.temperature_avg),
      humidityAvg: num(r.humidity_avg),
      batteryAvg: num(r.battery_avg),
    };
  }

  private async statistics(hours: number, deviceId: string | null): Promise<DeviceStatistics[]> {
    const { rows } = await this.query(DEVICE_STATISTICS, [positive('hours', hours), deviceId]);
    return rows.map((r) => ({
      deviceId: r.device_id as string,
      readings: count(r.readings),
      firstSeen: r.first_seen as Date,
      lastSeen: r.last_seen as Date,
      ...(Object.fromEntries(METRICS.map((m) => [m, metricStatistics(r, m)])) as Record<Metric, MetricStatistics>),
    }));
  }

  /** An undefined table means the schema is missing: say what to do instead of "relation does not exist". */
  private async query(text: string, values: unknown[]): Promise<{ rows: Row[] }> {
    try {
      return await this.db.query(text, values);
    } catch (err) {
      if ((err as { code?: unknown }).code === '42P01') {
        throw new SchemaMissingError(`the pipeline schema is missing (${(err as Error).message}); run \`iot-pipeline migrate\``, {
          cause: err,
        });
      }
      throw err;
    }
  }
}
