/**
 * Where the test suite's CPU goes, per test file: the vitest worker's own CPU while the file ran (its import, hooks and
 * tests), the CPU of the child processes it started and waited for (servers, CLIs, Chromium), and the CPU of the Postgres
 * backends it opened (by it or by its children). The worker's CPU between files (vitest's hand-over) and the main
 * process's are given as totals.
 *
 *   DATABASE_URL=... REDIS_URL=... REQUIRE_SERVICES=true nice -n 10 npx tsx bench/suite-cpu.ts run [--dir DIR] [--top 25] [-- FILES/VITEST ARGS]
 *   npx tsx bench/suite-cpu.ts report DIR [--top 25] [--by cpu|wall]
 *
 * `run` runs `vitest run --config bench/suite-cpu.config.ts` (the suite's own config plus two recorders:
 * bench/suite-cpu/record-file.ts per file, bench/suite-cpu/postgres-sampler.ts for the backends) with SUITE_CPU_DIR=DIR
 * (default: a new temporary directory), then prints the report; `report` prints it again from DIR's files.jsonl and
 * postgres.jsonl. Only the backends of DATABASE_URL's database are counted, so other sessions on the same Postgres
 * server are left out; Redis is one process shared by all and is not split. A file's "wall" is from its setup file's
 * start to its last afterAll. Run a file alone to read its Postgres CPU cleanly; in a whole run with three workers
 * each backend is still given to the worker (and file) that opened it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readProcStat, TICKS_PER_SECOND } from './suite-cpu/proc-stat.js';

interface FileRecord {
  file: string;
  pid: number;
  start: number;
  end: number;
  userMs: number;
  sysMs: number;
  childUserMs: number;
  childSysMs: number;
  procStartMs: number;
  procEndMs: number;
}
interface PgSample {
  t: number;
  worker: number;
  ms: number;
}
interface Row {
  file: string;
  wallS: number;
  selfS: number;
  childS: number;
  pgS: number;
  totalS: number;
}

const SAMPLE_SLACK_MS = 300;

function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

export function rows(files: FileRecord[], pg: PgSample[]): { rows: Row[]; pgBetweenS: number; pgNoWorkerS: number; gapS: number } {
  const byWorker = new Map<number, FileRecord[]>();
  for (const f of files) byWorker.set(f.pid, [...(byWorker.get(f.pid) ?? []), f]);
  for (const list of byWorker.values()) list.sort((a, b) => a.start - b.start);
  const pgOf = new Map<FileRecord, number>();
  let pgBetween = 0;
  let pgNoWorker = 0;
  for (const s of pg) {
    const list = byWorker.get(s.worker);
    if (!list) {
      pgNoWorker += s.ms;
      continue;
    }
    // The growth seen at t happened in the sample before it: the file that ran then, or that ended just before t.
    const f = list.find((r) => r.start <= s.t && r.end + SAMPLE_SLACK_MS >= s.t);
    if (f) pgOf.set(f, (pgOf.get(f) ?? 0) + s.ms);
    else pgBetween += s.ms;
  }
  let gap = 0;
  for (const list of byWorker.values()) for (let i = 1; i < list.length; i++) gap += Math.max(0, list[i].procStartMs - list[i - 1].procEndMs);
  const out = files.map((f) => {
    const selfS = (f.userMs + f.sysMs) / 1000;
    const childS = (f.childUserMs + f.childSysMs) / 1000;
    const pgS = (pgOf.get(f) ?? 0) / 1000;
    return { file: f.file, wallS: (f.end - f.start) / 1000, selfS, childS, pgS, totalS: selfS + childS + pgS };
  });
  return { rows: out, pgBetweenS: pgBetween / 1000, pgNoWorkerS: pgNoWorker / 1000, gapS: gap / 1000 };
}

export function report(dir: string, top: number, by: 'cpu' | 'wall'): string {
  const files = readLines<FileRecord>(path.join(dir, 'files.jsonl'));
  const pg = readLines<PgSample>(path.join(dir, 'postgres.jsonl'));
  const r = rows(files, pg);
  const sum = (pick: (row: Row) => number) => r.rows.reduce((s, row) => s + pick(row), 0);
  const sorted = [...r.rows].sort((a, b) => (by === 'cpu' ? b.totalS - a.totalS : b.wallS - a.wallS));
  const f1 = (n: number) => n.toFixed(1);
  const lines = [
    `${files.length} files, ${new Set(files.map((f) => f.pid)).size} worker processes`,
    `CPU in files: worker ${f1(sum((x) => x.selfS))} s, children ${f1(sum((x) => x.childS))} s, Postgres backends ${f1(sum((x) => x.pgS))} s; ` +
      `workers between files ${f1(r.gapS)} s; Postgres between files ${f1(r.pgBetweenS)} s, opened outside the workers ${f1(r.pgNoWorkerS)} s`,
    '',
    `| # | file | CPU s (all) | worker | children | Postgres | wall s |`,
    `|---:|---|---:|---:|---:|---:|---:|`,
    ...sorted.slice(0, top).map((x, i) => `| ${i + 1} | ${x.file.replace(/^tests\//, '')} | ${f1(x.totalS)} | ${f1(x.selfS)} | ${f1(x.childS)} | ${f1(x.pgS)} | ${f1(x.wallS)} |`),
  ];
  return lines.join('\n');
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dashdash = argv.indexOf('--');
  const args = dashdash === -1 ? argv : argv.slice(0, dashdash);
  const passed = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  const top = Number(option(args, '--top') ?? 25);
  const by = option(args, '--by') === 'wall' ? 'wall' : 'cpu';
  if (args[0] === 'report' && args[1]) {
    console.log(report(args[1], top, by));
    return;
  }
  if (args[0] !== 'run') {
    console.error('usage: suite-cpu.ts run [--dir DIR] [--top N] [-- vitest args] | report DIR [--top N] [--by cpu|wall]');
    process.exit(2);
  }
  const dir = option(args, '--dir') ?? mkdtempSync(path.join(os.tmpdir(), 'suite-cpu-'));
  mkdirSync(dir, { recursive: true });
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const before = readProcStat('self');
  const started = Date.now();
  const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', '--config', 'bench/suite-cpu.config.ts', ...passed], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, SUITE_CPU_DIR: dir },
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  const after = readProcStat('self');
  const ms = (ticks: number) => ticks / TICKS_PER_SECOND;
  console.log(`\nsuite-cpu: ${dir}; vitest exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s wall`);
  if (before && after) {
    console.log(
      `vitest and every process it waited for: ${ms(after.cutime - before.cutime).toFixed(1)} s user + ${ms(after.cstime - before.cstime).toFixed(1)} s sys (Postgres backends not included)`,
    );
  }
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  console.log(report(dir, top, by));
  process.exitCode = code;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main();
