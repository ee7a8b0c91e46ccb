/**
 * A vitest setup file (bench/suite-cpu.config.ts): per test file, the worker's own CPU and the CPU of the child
 * processes it waited for (servers, CLIs, browsers the file started), appended as one JSON line to
 * $SUITE_CPU_DIR/files.jsonl. Setup files run again before every test file, also with `isolate: false`; the
 * afterAll hook registered here runs after the file's own (vitest runs after-hooks in reverse), so a file's
 * teardown is counted.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { readProcStat, TICKS_PER_SECOND } from './proc-stat.js';

const out = process.env.SUITE_CPU_DIR;
if (out) {
  // Taken when the setup file runs, before the test file is imported: its collection is counted too.
  const startWall = Date.now();
  const startSelf = process.cpuUsage();
  const startProc = readProcStat('self');
  afterAll(() => {
    const self = process.cpuUsage(startSelf);
    const end = readProcStat('self');
    const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
    const file = path.relative(process.cwd(), expect.getState().testPath ?? 'unknown');
    const record = {
      file,
      pid: process.pid,
      start: startWall,
      end: Date.now(),
      userMs: self.user / 1000,
      sysMs: self.system / 1000,
      childUserMs: startProc && end ? ms(end.cutime - startProc.cutime) : 0,
      childSysMs: startProc && end ? ms(end.cstime - startProc.cstime) : 0,
      // The worker's own CPU so far at the file's start and end (clock ticks as ms): what lies between two files of a
      // worker (vitest's hand-over, the next file's module loads before its setup) is the gap between them.
      procStartMs: startProc ? ms(startProc.utime + startProc.stime) : 0,
      procEndMs: end ? ms(end.utime + end.stime) : 0,
    };
    appendFileSync(path.join(out, 'files.jsonl'), `${JSON.stringify(record)}\n`);
  });
}
