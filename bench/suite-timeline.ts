/**
 * Where the test suite's span goes: the per-worker timeline of one vitest run, rebuilt from its JSON report
 * (`vitest run --reporter=default --reporter=json --outputFile=REPORT`).
 *
 *   npx tsx bench/suite-timeline.ts REPORT [--workers 2] [--results RESULTS] [--top 40]
 *
 * The report gives each file the start of its first test and the end of its last, on one clock; vitest does not say
 * which worker ran it, so the files are laid on the workers in the order they started, each on the worker that came
 * free last before its start (a worker runs one file at a time). What lies between two files of a worker is the first
 * file's afterAll hooks, the next one's import (collection) and beforeAll hooks, and the pool's hand-over. RESULTS is
 * vitest's results cache of the same run (node_modules/.vite/vitest/HASH/results.json in the checkout that ran it),
 * whose file times include the hooks: with it the gaps are split into hooks and the rest.
 *
 * Prints the phases (report start to the first test, the span, the tail where one worker is done and the other is
 * not), each worker's busy time and gaps, the longest gaps, and the longest files with where they started and their
 * place in tests/run-order/slow-files.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SLOW_FILES } from '../tests/run-order/slow-files.js';

interface FileResult {
  name: string;
  startTime: number;
  endTime: number;
  status: string;
  assertionResults: unknown[];
}
interface Report {
  startTime: number;
  testResults: FileResult[];
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

const reportPath = process.argv[2];
if (!reportPath || reportPath.startsWith('--')) throw new Error('usage: suite-timeline.ts REPORT [--workers 2] [--results RESULTS] [--top 40]');
const WORKERS = Number(option('--workers') ?? 2);
const TOP = Number(option('--top') ?? 40);
const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;

/** The repository-relative name: the report holds the absolute paths of the checkout that ran it. */
const relative = (file: string) => {
  const at = file.indexOf('/tests/');
  return at === -1 ? path.basename(file) : file.slice(at + 1);
};

/** File time with hooks, from vitest's results cache ("project:tests/..." -> { duration }). */
const withHooks = new Map<string, number>();
const resultsPath = option('--results');
if (resultsPath) {
  const { results } = JSON.parse(readFileSync(resultsPath, 'utf8')) as { results: [string, { duration: number }][] };
  for (const [key, { duration }] of results) withHooks.set(key.slice(key.indexOf(':') + 1), duration);
}

interface Placed {
  file: string;
  start: number;
  end: number;
  worker: number;
  hooks?: number;
}

const t0 = report.startTime;
const files = report.testResults
  .filter((f) => f.assertionResults.length > 0)
  .map((f) => ({ file: relative(f.name), start: f.startTime - t0, end: f.endTime - t0 }))
  .sort((a, b) => a.start - b.start);
const free = Array.from({ length: WORKERS }, () => Number.NEGATIVE_INFINITY);
const placed: Placed[] = files.map((f) => {
  // The worker that came free last before this start; if none did (a file's tests overlapping another's on the
  // same worker cannot happen), the one that came free first.
  let worker = -1;
  for (let w = 0; w < WORKERS; w++) if (free[w] <= f.start && (worker === -1 || free[w] > free[worker])) worker = w;
  if (worker === -1) worker = free.indexOf(Math.min(...free));
  free[worker] = f.end;
  const full = withHooks.get(f.file);
  return { ...f, worker, hooks: full === undefined ? undefined : Math.max(0, full - (f.end - f.start)) };
});

const s = (ms: number) => (ms / 1000).toFixed(1);
const first = Math.min(...placed.map((p) => p.start));
const last = Math.max(...placed.map((p) => p.end));
const testTime = placed.reduce((sum, p) => sum + p.end - p.start, 0);
const hooksTime = placed.reduce((sum, p) => sum + (p.hooks ?? 0), 0);
console.log(`files ${placed.length} (with tests), workers ${WORKERS}, report start ${new Date(t0).toISOString()}`);
console.log(`report start -> first test: ${s(first)} s; span (first test -> last test end) ${s(last - first)} s; report start -> last test end ${s(last)} s`);
console.log(`summed tests' time (first test to last, per file) ${s(testTime)} s = ${s(testTime / WORKERS)} s per worker`);
if (resultsPath) console.log(`summed file time with hooks (results cache) ${s(testTime + hooksTime)} s = ${s((testTime + hooksTime) / WORKERS)} s per worker; hooks ${s(hooksTime)} s`);

const ends: number[] = [];
for (let w = 0; w < WORKERS; w++) {
  const mine = placed.filter((p) => p.worker === w);
  const busy = mine.reduce((sum, p) => sum + p.end - p.start, 0);
  const hooks = mine.reduce((sum, p) => sum + (p.hooks ?? 0), 0);
  let gaps = 0;
  for (let i = 1; i < mine.length; i++) gaps += mine[i].start - mine[i - 1].end;
  const end = mine.at(-1)?.end ?? 0;
  ends.push(end);
  console.log(
    `worker ${w}: ${mine.length} files, first test at ${s(mine[0]?.start ?? 0)} s, last end ${s(end)} s; tests ${s(busy)} s, between files ${s(gaps)} s` +
      (resultsPath ? ` (of which hooks ${s(hooks)} s, the rest ${s(gaps - hooks + (mine[0]?.hooks ?? 0))} s)` : '') +
      `, ${s(gaps / Math.max(1, mine.length - 1) * 1000)} ms a hand-over`,
  );
}
console.log(`tail (one worker done, another not): ${s(Math.max(...ends) - Math.min(...ends))} s`);

const gaps = placed
  .map((p) => {
    const before = placed.filter((q) => q.worker === p.worker && q.end <= p.start).at(-1);
    return { ...p, gap: before ? p.start - before.end : p.start };
  })
  .sort((a, b) => b.gap - a.gap);
console.log(`\nlongest gaps before a file (worker, gap s, hooks of the file s, start s, file):`);
for (const g of gaps.slice(0, 15)) console.log(`  w${g.worker} ${s(g.gap).padStart(6)} ${g.hooks === undefined ? '' : s(g.hooks).padStart(6)} ${s(g.start).padStart(7)}  ${g.file}`);

const rank = new Map(SLOW_FILES.map((f, i) => [f, i + 1]));
const longest = [...placed].sort((a, b) => b.end - b.start + (b.hooks ?? 0) - (a.end - a.start + (a.hooks ?? 0)));
console.log(`\nlongest files (s with hooks if known, tests s, start s, worker, place in SLOW_FILES):`);
for (const p of longest.slice(0, TOP)) {
  console.log(`  ${s(p.end - p.start + (p.hooks ?? 0)).padStart(6)} ${s(p.end - p.start).padStart(6)} ${s(p.start).padStart(7)} w${p.worker} ${String(rank.get(p.file) ?? '-').padStart(3)}  ${p.file}`);
}
const unlisted = SLOW_FILES.filter((f) => !placed.some((p) => p.file === f));
if (unlisted.length) console.log(`listed in SLOW_FILES but not in the report: ${unlisted.length < 10 ? unlisted.join(', ') : unlisted.length}`);
console.log(`\nthe last files to end: ${placed.sort((a, b) => b.end - a.end).slice(0, 4).map((p) => `w${p.worker} ${p.file} ${s(p.start)}-${s(p.end)} s`).join('; ')}`);
