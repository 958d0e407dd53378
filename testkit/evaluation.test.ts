import { recallByKind } from '../detector/recall';
import { falseAlertsPerDeviceHour, NORMAL_DATA, simulate, SPIKES_5_SIGMA, STUCK_SENSORS } from './evaluation';

/**
 * The defaults against the project's own simulator (Gaussian sensor noise on a daily
 * cycle, readings every 5 s, values rounded as devices send them): false alerts on
 * normal data at most 0.1 per device-hour, and at least 95 % of 5σ spikes caught.
 * The scoring lives in evaluation.ts, shared with bench/detector.ts.
 */
describe('detection quality with the default settings on simulated fleets', () => {
  it('normal data: at most 0.1 false alerts per device-hour', () => {
    // 960 device-hours: the default's ~0.06 would need half again as many alerts to pass 0.1.
    const devices = 40;
    const hours = 24;
    const { alerts } = simulate(devices, hours, 7, NORMAL_DATA);
    expect(falseAlertsPerDeviceHour(alerts, devices, hours)).toBeLessThanOrEqual(0.1);
  });

  it('5σ spikes: at least 95 % raise an anomaly alert at the spiked reading', () => {
    const { alerts, events } = simulate(20, 10, 11, SPIKES_5_SIGMA);
    const { spike } = recallByKind(alerts, events);
    expect(spike.events).toBeGreaterThan(100);
    expect(spike.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('stuck sensors: at least 95 % raise a stuck_sensor alert while they last', () => {
    const { alerts, events } = simulate(20, 10, 13, STUCK_SENSORS);
    const { stuck } = recallByKind(alerts, events);
    expect(stuck.events).toBeGreaterThan(100);
    expect(stuck.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('the default mix: spikes, stuck sensors and long dropouts found, most drifts while they last', () => {
    const { alerts, events } = simulate(20, 10, 17, {});
    const recall = recallByKind(alerts, events);
    for (const kind of ['spike', 'stuck', 'dropout'] as const) {
      expect(recall[kind].events).toBeGreaterThan(10);
      expect(recall[kind].recall).toBeGreaterThanOrEqual(0.95);
    }
    expect(recall.drift.recall).toBeGreaterThanOrEqual(0.7);
  });
});
