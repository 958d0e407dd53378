import { falseAlertsPerDeviceHour, NORMAL_DATA, simulate, spikeRecall, SPIKES_5_SIGMA } from './evaluation';

/**
 * The defaults against the project's own simulator (Gaussian sensor noise on a daily
 * cycle, readings every 5 s, values rounded as devices send them): false alerts on
 * normal data at most 0.1 per device-hour, and at least 95 % of 5σ spikes caught.
 * The scoring lives in evaluation.ts, shared with bench/detector.ts.
 */
describe('detection quality with the default settings on simulated fleets', () => {
  it('normal data: at most 0.1 false alerts per device-hour', () => {
    const devices = 12;
    const hours = 12;
    const { alerts } = simulate(devices, hours, 7, NORMAL_DATA);
    expect(falseAlertsPerDeviceHour(alerts, devices, hours)).toBeLessThanOrEqual(0.1);
  });

  it('5σ spikes: at least 95 % raise an anomaly alert at the spiked reading', () => {
    const { alerts, events } = simulate(20, 10, 11, SPIKES_5_SIGMA);
    const { spikes, recall } = spikeRecall(alerts, events);
    expect(spikes).toBeGreaterThan(100);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });
});
