import type { AnomalyReport, DeviceStatistics, FleetSummary, InactiveDevice, IoTAnalytics, LowBatteryDevice } from './analytics';
import type { StoredReading } from '../schemas';

export interface ReportOptions {
  hours: number;
  deviceId?: string;
  zThreshold: number;
  batteryThreshold: number;
  inactiveMinutes: number;
  anomalyLimit: number;
}

/** The fleet report (all devices summary, temperature anomalies, low battery), plus fleet figures and silence. */
export interface Report {
  generatedAt: Date;
  options: ReportOptions;
  fleet: FleetSummary;
  devices: DeviceStatistics[];
  anomalies: AnomalyReport;
  lowBattery: LowBatteryDevice[];
  inactive: InactiveDevice[];
  /** Only with a device: its newest readings. */
  latest?: StoredReading[];
}

const LATEST_SHOWN = 10;

export async function buildReport(analytics: IoTAnalytics, options: ReportOptions): Promise<Report> {
  const { hours, deviceId } = options;
  const ofDevice = <T extends { deviceId: string }>(rows: T[]) =>
    deviceId === undefined ? rows : rows.filter((r) => r.deviceId === deviceId);
  const [fleet, devices, anomalies, lowBattery, inactive, latest] = await Promise.all([
    analytics.fleetSummary(hours),
    analytics.allDeviceStatistics(hours).then(ofDevice),
    analytics.temperatureAnomalies({ thresholdStddev: options.zThreshold, hours, deviceId, limit: options.anomalyLimit }),
    analytics.lowBatteryDevices(options.batteryThreshold).then(ofDevice),
    analytics.inactiveDevices(options.inactiveMinutes).then(ofDevice),
    deviceId === undefined ? undefined : analytics.latestReadings(deviceId, LATEST_SHOWN),
  ]);
  return { generatedAt: new Date(), options, fleet, devices, anomalies, lowBattery, inactive, ...(latest ? { latest } : {}) };
}
