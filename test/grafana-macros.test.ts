import { expandGrafanaSql, formatInterval, GrafanaQueryContext, parseInterval } from '../testkit/grafana-macros';

const ctx: GrafanaQueryContext = {
  from: new Date('2026-11-01T10:00:00.000Z'),
  to: new Date('2026-11-01T16:00:00.500Z'),
  intervalMs: 300_000,
  variables: { device: ['dev-1', "o'brien"] },
};

describe('Grafana SQL macro expander', () => {
  it('expands the time macros as the PostgreSQL data source does (timescaledb on)', () => {
    expect(expandGrafanaSql('SELECT $__timeGroupAlias(bucket, $__interval), 1 FROM t WHERE $__timeFilter(bucket)', ctx)).toBe(
      `SELECT time_bucket('300s',bucket) AS "time", 1 FROM t WHERE bucket BETWEEN '2026-11-01T10:00:00.000Z' AND '2026-11-01T16:00:00.500Z'`,
    );
    expect(expandGrafanaSql("$__timeGroup(time, '1h')", ctx)).toBe("time_bucket('3600s',time)");
    expect(expandGrafanaSql('$__time(t) $__timeFrom() $__timeTo()', ctx)).toBe(
      `t AS "time" '2026-11-01T10:00:00.000Z' '2026-11-01T16:00:00.500Z'`,
    );
  });

  it('interpolates variables: a multi-value one as quoted SQL literals, $__interval_ms as a number', () => {
    expect(expandGrafanaSql('device_id IN ($device) AND ${device} <> x', ctx)).toBe(
      "device_id IN ('dev-1','o''brien') AND 'dev-1','o''brien' <> x",
    );
    expect(expandGrafanaSql('$__interval_ms / 1000 $__interval', ctx)).toBe('300000 / 1000 5m');
  });

  it('refuses what it does not know instead of passing it through', () => {
    expect(() => expandGrafanaSql('WHERE $__unixEpochFilter(t)', ctx)).toThrow(/unknown Grafana macro \$__unixEpochFilter/);
    expect(() => expandGrafanaSql('WHERE x IN ($site)', ctx)).toThrow(/\$site has no value/);
    expect(() => expandGrafanaSql("$__timeGroup(t, '5m', NULL)", ctx)).toThrow(/takes 2 argument/);
    expect(() => expandGrafanaSql("$__timeGroup(t, 'soon')", ctx)).toThrow(/not a Grafana interval/);
    expect(() => expandGrafanaSql('$__timeFilter', ctx)).toThrow(/unexpanded \$__timeFilter/);
  });

  it('reads and writes Grafana interval strings', () => {
    expect([parseInterval('200ms'), parseInterval('30s'), parseInterval('5m'), parseInterval('2h'), parseInterval('1d')]).toEqual([
      200, 30_000, 300_000, 7_200_000, 86_400_000,
    ]);
    expect([formatInterval(200), formatInterval(90_000), formatInterval(3_600_000), formatInterval(1_209_600_000)]).toEqual([
      '200ms',
      '90s',
      '1h',
      '2w',
    ]);
  });
});
