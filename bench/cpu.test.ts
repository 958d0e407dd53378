import { readFileSync } from 'node:fs';
import {
  cpuPerReading,
  cpuTable,
  familyTicks,
  filteredFamilyTicks,
  parseProcStat,
  postgresWorksFor,
  readCpu,
  SELF,
  stackDir,
  type ProcStat,
} from './cpu';

describe('parseProcStat', () => {
  it('reads ppid, utime, stime, cutime, cstime past a command with spaces and parentheses', () => {
    const line = '4242 (postgres: iot (x) idle) S 16168 4242 4242 0 -1 4194560 500 0 0 0 1234 567 89 10 20 0 1 0 99 1000 50';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 16168, utime: 1234, stime: 567, cutime: 89, cstime: 10 });
  });

  it('reads this process as /proc shows it', () => {
    const s = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(s.pid).toBeGreaterThan(0);
    expect(s.utime + s.stime).toBeGreaterThan(0);
  });
});

describe('familyTicks', () => {
  const stat = (pid: number, ppid: number, u: number, s: number, cu = 0, cs = 0): ProcStat => ({
    pid,
    ppid,
    utime: u,
    stime: s,
    cutime: cu,
    cstime: cs,
  });
  const stats = [
    stat(1, 0, 5, 5),
    stat(10, 1, 100, 50, 30, 20),
    stat(11, 10, 7, 3),
    stat(12, 10, 1, 1, 4, 0),
    stat(13, 12, 2, 2),
    stat(20, 1, 999, 999),
  ];

  it('counts a process alone, or with its exited and live descendants', () => {
    expect(familyTicks(10, stats, false)).toBe(150);
    expect(familyTicks(10, stats, true)).toBe(150 + 50 + 10 + 6 + 4);
    expect(familyTicks(99, stats, true)).toBeNaN();
    expect(familyTicks(10, stats, true, [12])).toBe(150 + 50 + 10);
  });
});

describe('filteredFamilyTicks and postgresWorksFor', () => {
  const stat = (pid: number, ppid: number, u: number, cu = 0): ProcStat => ({ pid, ppid, utime: u, stime: 0, cutime: cu, cstime: 0 });
  const titles: Record<number, string> = {
    2: 'postgres: checkpointer',
    3: 'postgres: walwriter',
    4: 'postgres: iot bench_e2e_abc 127.0.0.1(5000) idle',
    5: 'postgres: iot other_db 127.0.0.1(5001) INSERT',
    6: 'postgres: autovacuum worker bench_e2e_abc',
    7: 'postgres: autovacuum launcher',
  };
  const stats = [stat(1, 0, 10, 1000), stat(2, 1, 1), stat(3, 1, 2), stat(4, 1, 40), stat(5, 1, 500), stat(6, 1, 8), stat(7, 1, 3)];

  it('counts the server, its writers and the backends of one database, not the others nor the exited', () => {
    const keep = postgresWorksFor('bench_e2e_abc');
    expect(filteredFamilyTicks(1, stats, keep, [], (pid) => titles[pid] ?? '')).toEqual(
      new Map([
        [1, 10],
        [2, 1],
        [3, 2],
        [4, 40],
        [6, 8],
      ]),
    );
    expect([...filteredFamilyTicks(1, stats, keep, [4], (pid) => titles[pid] ?? '')!.keys()]).toEqual([1, 2, 3, 6]);
    expect(filteredFamilyTicks(99, stats, keep, [])).toBeUndefined();
    expect(keep('postgres: iot bench_e2e_abcd 127.0.0.1(1) idle')).toBe(false);
  });
});

describe('cpuPerReading and cpuTable', () => {
  it('gives µs per reading per process and in total; a process missing at either end shows as -', () => {
    const before = new Map([
      ['bridge', 1_000_000],
      ['kafka', 500_000],
      ['gone', Number.NaN],
    ]);
    const after = new Map([
      ['bridge', 3_000_000],
      ['kafka', 1_500_000],
      ['gone', 10],
    ]);
    const { rows, total } = cpuPerReading(before, after, 100_000);
    expect(rows).toEqual([
      { name: 'bridge', us: 2_000_000, perReading: 20 },
      { name: 'kafka', us: 1_000_000, perReading: 10 },
      { name: 'gone', us: Number.NaN, perReading: Number.NaN },
    ]);
    expect(total).toBe(30);
    const text = cpuTable([{ title: 'batch 10, 50000/s', rows, total, rate: 49_000 }]);
    expect(text.split('\n')).toEqual([
      'CPU µs per reading  batch 10, 50000/s',
      'bridge                           20.0',
      'kafka                            10.0',
      'gone                                -',
      'total                            30.0',
      'rows/s seen                     49000',
    ]);
  });

  it('adds up the parts of a filtered family: one that exited counts nothing, one that started counts whole', () => {
    const part = (pid: number) => `postgresql\u0000${pid}`;
    const before = new Map([
      [part(1), 100],
      [part(4), 500],
      [part(9), 700],
    ]);
    const after = new Map([
      [part(1), 150],
      [part(4), 800],
      [part(12), 40],
    ]);
    const { rows, total } = cpuPerReading(before, after, 10);
    expect(rows).toEqual([{ name: 'postgresql', us: 50 + 300 + 40, perReading: 39 }]);
    expect(total).toBe(39);
  });

  it('shows a measurement process apart, out of the total', () => {
    const { rows, total } = cpuPerReading(
      new Map([
        ['pg', 0],
        ['watcher', 0],
      ]),
      new Map([
        ['pg', 1000],
        ['watcher', 500],
      ]),
      100,
      new Set(['watcher']),
    );
    expect(total).toBe(10);
    expect(cpuTable([{ title: 'x', rows, total, rate: 1 }]).split('\n')).toEqual([
      'CPU µs per reading     x',
      'pg                  10.0',
      'total               10.0',
      '(watcher)            5.0',
      'rows/s seen            1',
    ]);
  });

  it('reads this process through cpuUsage', () => {
    const cpu = readCpu([{ name: SELF, pid: () => process.pid }]);
    expect(cpu.get(SELF)).toBeGreaterThan(0);
  });
});

describe('stackDir', () => {
  it("is STACK_DIR, else the folder PROMETHEUS_TARGETS_DIR lies in, else the repo's .stack", () => {
    expect(stackDir({ STACK_DIR: '/s', PROMETHEUS_TARGETS_DIR: '/x/conf/prometheus/targets' }, '/repo')).toBe('/s');
    expect(stackDir({ PROMETHEUS_TARGETS_DIR: '/x/.stack/conf/prometheus/targets' }, '/repo')).toBe('/x/.stack');
    expect(stackDir({}, '/repo')).toBe('/repo/.stack');
  });
});
