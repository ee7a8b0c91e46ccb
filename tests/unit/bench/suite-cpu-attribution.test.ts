import { describe, expect, it } from 'vitest';
import { rows } from '../../../bench/suite-cpu.js';

const file = (name: string, pid: number, start: number, end: number, procStartMs: number, procEndMs: number) => ({
  file: name,
  pid,
  start,
  end,
  userMs: 1000,
  sysMs: 500,
  childUserMs: 200,
  childSysMs: 0,
  procStartMs,
  procEndMs,
});

describe('bench/suite-cpu.ts attribution', () => {
  it("When a backend's CPU is sampled, Then it goes to the file its worker ran then, or to between files, or to no worker's", () => {
    const files = [file('a', 1, 1000, 2000, 0, 1500), file('b', 1, 3000, 4000, 1700, 3000), file('c', 2, 1000, 4000, 0, 2000)];
    const r = rows(files, [
      { t: 1500, worker: 1, ms: 100 },
      // Sampled just after its file ended: the growth happened while it ran.
      { t: 2200, worker: 1, ms: 50 },
      { t: 2600, worker: 1, ms: 30 },
      { t: 3500, worker: 2, ms: 40 },
      { t: 3500, worker: 0, ms: 7 },
    ]);
    const byFile = Object.fromEntries(r.rows.map((x) => [x.file, x]));
    expect(byFile.a).toMatchObject({ wallS: 1, selfS: 1.5, childS: 0.2, pgS: 0.15 });
    expect(byFile.b.pgS).toBe(0);
    expect(byFile.c.pgS).toBe(0.04);
    expect(byFile.a.totalS).toBeCloseTo(1.85, 9);
    expect(r.pgBetweenS).toBe(0.03);
    expect(r.pgNoWorkerS).toBe(0.007);
    // Worker 1's CPU between a's end and b's start.
    expect(r.gapS).toBe(0.2);
  });
});
