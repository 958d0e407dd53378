import { formatSeconds, progressBar, progressLine, rateAndEta, ReplayCounts } from './progress';

const counts = (records: number, total: number, extra: Partial<ReplayCounts> = {}): ReplayCounts => ({
  records,
  total,
  inserted: records - 10,
  present: 10,
  undecodable: 0,
  ...extra,
});

describe('replay progress', () => {
  it('derives the rate and the time left from what is done', () => {
    expect(rateAndEta(counts(2500, 10_000), 500)).toEqual({ perSecond: 5000, etaSeconds: 1.5 });
    expect(rateAndEta(counts(0, 10_000), 0)).toEqual({ perSecond: 0, etaSeconds: null });
    expect(rateAndEta(counts(0, 0), 0)).toEqual({ perSecond: 0, etaSeconds: 0 });
  });

  it('shows a bar on a terminal and a plain line in a log, with the same figures', () => {
    expect(progressBar(counts(2500, 10_000), 500)).toBe(
      '[######------------------]  25%  2500/10000 records  2490 new  10 already present  5000/s  ETA 2s',
    );
    expect(progressLine(counts(10_000, 10_000, { undecodable: 1 }), 2000)).toBe(
      'replay: 10000/10000 records  9990 new  10 already present  1 undecodable  5000/s  ETA 0s',
    );
    expect(progressBar(counts(0, 0, { inserted: 0, present: 0 }), 0)).toMatch(/^\[#{24}\] 100%/);
  });

  it('writes longer times in minutes and hours', () => {
    expect([formatSeconds(59.4), formatSeconds(61), formatSeconds(7322), formatSeconds(null)]).toEqual(['59s', '1m01s', '2h02m', '?']);
  });
});
