/**
 * Rewrites slow-files.ts from the file times of a whole run, so the list follows the suite instead of a hand's memory:
 *
 *   npm test && npx tsx tests/run-order/write-slow-files.ts [TIMES] [--share 0.01] [--note "what run"]
 *
 * TIMES is vitest's results cache of the run (by default this checkout's node_modules/.vite/vitest/HASH/results.json,
 * which every `vitest run` updates: each file's time with its hooks) or a JSON report of it (`--reporter=json
 * --outputFile=...`: there a file's time is its first test's start to its last one's end, without the hooks). Listed
 * are the files of this checkout that took at least `--share` of one worker's part of the summed time (1% by default):
 * a file left out starts in vitest's order and, started last, keeps one worker busy alone for at most that long. A
 * share, not seconds, so a run under load lists the same files as a quiet one.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIST = fileURLToPath(new URL('./slow-files.ts', import.meta.url));
/** vitest.config.ts's maxWorkers: the summed time is shared among them. */
const WORKERS = 2;

/** Each file's time in ms, by its repository-relative path, from a results cache or a JSON report. */
export function fileTimes(json: unknown): Map<string, number> {
  const times = new Map<string, number>();
  const add = (file: string, ms: number) => times.set(file, (times.get(file) ?? 0) + ms);
  const data = json as { results?: [string, { duration: number }][]; testResults?: { name: string; startTime: number; endTime: number }[] };
  if (data.results) for (const [key, { duration }] of data.results) add(key.slice(key.indexOf(':') + 1), duration);
  else if (data.testResults) for (const f of data.testResults) add(relativeTest(f.name), f.endTime - f.startTime);
  else throw new Error('neither a vitest results cache ({ results }) nor a JSON report ({ testResults })');
  return times;
}

/** tests/... of an absolute path from whichever checkout ran it. */
function relativeTest(file: string): string {
  const at = file.lastIndexOf('/tests/');
  return at === -1 ? file : file.slice(at + 1);
}

/** The files that took at least `share` of one worker's part of the summed time, longest first. */
export function slowFiles(times: ReadonlyMap<string, number>, share: number, exists: (file: string) => boolean): [string, number][] {
  const present = [...times].filter(([file]) => exists(file));
  const perWorker = present.reduce((sum, [, ms]) => sum + ms, 0) / WORKERS;
  return present.filter(([, ms]) => ms >= share * perWorker).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** The source of slow-files.ts listing `files`. */
export function listSource(files: readonly [string, number][], share: number, note: string): string {
  const lines = files.map(([file, ms]) => `  '${file.replace(/[\\']/g, '\\$&')}', // ${(ms / 1000).toFixed(1)} s`);
  return `/**
 * Test files that take longest, longest first, which vitest starts before the rest (slow-files-first.ts). Written by
 * write-slow-files.ts from a whole run (not by hand: write it again when files are added, made slower or quicker).
 * The ${files.length} files that took at least ${(share * 100).toFixed(1)}% of one worker's part of the summed file time (hooks included) in
 * ${note}.
 * Beside each, its time there. A file left out starts in vitest's order; the list's test checks that every name exists.
 */
export const SLOW_FILES: readonly string[] = [
${lines.join('\n')}
];
`;
}

function defaultTimesFile(): string {
  const dir = path.join(ROOT, 'node_modules', '.vite', 'vitest');
  const found = existsSync(dir) ? readdirSync(dir).map((d) => path.join(dir, d, 'results.json')).filter((f) => existsSync(f)) : [];
  if (found.length === 0) throw new Error(`no results cache under ${path.relative(ROOT, dir)}: run the whole suite first, or name a file`);
  return found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at === -1 ? undefined : args.splice(at, 2)[1];
  };
  const share = Number(option('--share') ?? 0.01);
  const given = option('--note');
  const timesFile = args[0] ?? defaultTimesFile();
  const note = given ?? `the run of ${new Date(statSync(timesFile).mtimeMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const files = slowFiles(fileTimes(JSON.parse(readFileSync(timesFile, 'utf8'))), share, (file) => existsSync(path.join(ROOT, file)));
  writeFileSync(LIST, listSource(files, share, note));
  console.log(`${path.relative(ROOT, LIST)}: ${files.length} files from ${timesFile}`);
}
