/**
 * Training benchmark: the default recipe (or the one named) on the full UCI Online Retail data, read
 * from Postgres and published to Redis, exactly as a training job does it. Prints the time and the
 * memory of every step (load, dataset, each recommender's fit, serving-model build, encode, write and
 * publish to Redis; CPU of the whole process and, on Linux, of its main thread alone) and the total, against the targets: whole recipe < 30 s, peak RSS < 1.5 GB,
 * ALS < 10 s.
 *
 *   npx tsx bench/train.ts [RECIPE] [--fresh] [--tune | --no-tune] [--threads N] [--data FILE] [--shop] [--inline] [--hash]
 *
 * `--tune` tunes the recipe on the data first (its `tune` section, or the defaults: 3 folds of 30
 * days), as a training job with `tune: true` does; `--no-tune` trains the weights as written, as
 * `npm run train -- --no-tune` does; `--threads N` sets the training threads (TRAIN_THREADS; default
 * one per core). `--shop` trains the shop already imported into DATABASE_URL (its own tables, e.g. a
 * database filled by `npm run import -- generic DIR`) instead of Online Retail; nothing is imported.
 * `--inline` fits and builds in this thread (TrainerDeps.isolation 'inline'), so `node --cpu-prof`
 * sees the fits in the main thread's profile; the serving build's extra threads still run apart.
 * `--hash` prints the SHA-256 of what the training published (its metadata but the clock and run fields, every artifact and every table entry;
 * lib/version-hash.ts), so two builds trained on the same data can be shown to publish the same model.
 * With `--shop`, customers are precomputed as `npm run train` does (PRECOMPUTE_DAYS, default 365);
 * without it, every customer is (the Online Retail results below were measured so).
 *
 * The data lives in the Postgres schema `bench_train_online_retail` (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test). The first run imports the file into it with
 * `npm run import` in a child process (so the import's memory does not count); later runs reuse it,
 * `--fresh` imports again. The file: --data FILE, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz beside the repository. The model goes to REDIS_URL (default redis://127.0.0.1:6379) under a
 * random prefix that is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { loadConfig } from '../src/config.js';
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { createTrainer } from '../src/training/train-model.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { withoutDataArg } from './lib/online-retail.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';
import { versionHash } from './lib/version-hash.js';

const args = withoutDataArg();
const threadsAt = args.indexOf('--threads');
const threads = threadsAt >= 0 ? Number(args[threadsAt + 1]) : undefined;
const recipe = args.find((a, i) => !a.startsWith('--') && (threadsAt < 0 || i !== threadsAt + 1)) ?? 'default';
const tune = args.includes('--tune') ? true : args.includes('--no-tune') ? false : undefined;
const fresh = args.includes('--fresh');
const shop = args.includes('--shop');
const inline = args.includes('--inline');
const hashed = args.includes('--hash');
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'bench_train_online_retail';
const TARGETS = { totalMs: 30_000, peakMiB: 1536, alsMs: 10_000 };

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

if (!shop) await ensureOnlineRetailSchema(PG, SCHEMA, { fresh });
const db = createPgDb(PG, shop ? { max: 4 } : { max: 4, schema: SCHEMA });
const prefix = `bench_train_${randomBytes(3).toString('hex')}:`;
const store = createRedisModelStore({ url: REDIS, prefix });
// CPU time per step beside wall time: on a shared machine the wall time includes waiting for a core,
// the CPU time (user + system of this process, GC threads included) does not.
// And the main thread's own CPU (user + system of this thread alone, its GC's work on other threads not included),
// read from Linux's /proc (clock ticks of 10 ms); null elsewhere. The main thread receives the serving build's rows
// from the training thread and writes them to Redis.
const mainThreadCpuMs = (): number | null => {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
};
const rows: { step: string; wallMs: number; cpuMs: number; mainMs: number | null; rssMiB: number; peakMiB: number }[] = [];
let current: string | null = null;
let cpuAtStart = process.cpuUsage();
let mainAtStart = mainThreadCpuMs();
let wallAtStart = performance.now();
const closeStep = () => {
  const cpu = process.cpuUsage(cpuAtStart);
  const main = mainThreadCpuMs();
  if (current) rows.push({ step: current, wallMs: performance.now() - wallAtStart, cpuMs: (cpu.user + cpu.system) / 1000, mainMs: main === null || mainAtStart === null ? null : main - mainAtStart, rssMiB: mib(process.memoryUsage().rss), peakMiB: peakMiB() });
  cpuAtStart = process.cpuUsage();
  mainAtStart = main;
  wallAtStart = performance.now();
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(9);
/** The steps' table; `durations` the training's own wall times (else the bench's, from one progress report to the next). */
const printSteps = (durations?: Record<string, number>) => {
  console.log(`${'step'.padEnd(18)} ${'wall'.padStart(9)} ${'cpu'.padStart(9)} ${'main cpu'.padStart(9)} ${'RSS after'.padStart(10)} ${'peak so far'.padStart(12)}`);
  for (const r of rows) {
    const main = r.mainMs === null ? '-'.padStart(9) : sec(r.mainMs);
    console.log(`${r.step.padEnd(18)} ${sec(durations ? (durations[r.step] ?? 0) : r.wallMs)} ${sec(r.cpuMs)} ${main} ${`${r.rssMiB} MiB`.padStart(10)} ${`${r.peakMiB} MiB`.padStart(12)}`);
  }
};
const cpuStarted = process.cpuUsage();
const loadAtStart = loadavg();

try {
  const trainer = createTrainer({ events: createEventRepository(db), catalog: createCatalogRepository(db), store, defaultRecipe: recipe, threads, precomputeDays: shop ? loadConfig().PRECOMPUTE_DAYS : undefined, isolation: inline ? 'inline' : 'thread' });
  const result = await trainer.train(
    { tune },
    {
      // A step reports progress many times (tuning once per fold and candidate): one row per step.
      onProgress: (p) => {
        if (p.step === current) return;
        closeStep();
        current = p.step;
      },
    },
  );
  closeStep();

  console.log(`\nrecipe ${result.recipe} -> ${result.version}: ${JSON.stringify(result.data)}\n`);
  printSteps(result.durations);
  // Steps timed without a progress report of their own (a fit on a thread of its own, beside the others).
  for (const [step, ms] of Object.entries(result.durations)) {
    if (step !== 'total' && !rows.some((r) => r.step === step)) console.log(`${step.padEnd(18)} ${sec(ms)} ${'-'.padStart(9)}`);
  }
  const total = result.durations.total;
  const als = result.durations['fit:als'] ?? 0;
  const peak = peakMiB();
  const toRedis = (result.durations.write ?? 0) + (result.durations.publish ?? 0);
  const cpuTotal = process.cpuUsage(cpuStarted);
  console.log(`${'total'.padEnd(18)} ${sec(total)} ${sec((cpuTotal.user + cpuTotal.system) / 1000)} ${''.padStart(10)} ${`${peak} MiB`.padStart(12)}`);
  const loads = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
  console.log(`load average at the start ${loads(loadAtStart)}, at the end ${loads(loadavg())} (1, 5, 15 min) on ${cpus().length} cores`);
  const written = { ...result.contents.artifacts, ...result.contents.optionalArtifacts };
  console.log(`\nwrote ${Object.keys(written).length} artifacts (${mib(Object.values(written).reduce((a, b) => a + b, 0))} MiB) and ` +
    `${Object.values(result.contents.tables).reduce((a, b) => a + b, 0)} entries in ${Object.keys(result.contents.tables).length} tables to Redis in ${(toRedis / 1000).toFixed(2)} s`);
  const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
  if (!shop) console.log(`targets: total ${(total / 1000).toFixed(1)} s < 30 s ${verdict(total < TARGETS.totalMs)}; ` +
    `peak RSS ${peak} MiB < 1536 MiB ${verdict(peak < TARGETS.peakMiB)}; ALS ${(als / 1000).toFixed(1)} s < 10 s ${verdict(als < TARGETS.alsMs)}`);
  if (hashed) {
    const { total: digest, keys } = await versionHash(REDIS, prefix, result.version);
    for (const [key, h] of keys) console.log(`sha256 ${h.slice(0, 16)} ${key}`);
    console.log(`sha256 of the published model: ${digest}`);
  }
} catch (err) {
  // A training that fails (at 10x, the write of an artifact larger than Redis takes) still shows the steps it made.
  closeStep();
  console.log(`\nthe training failed in step ${current ?? '(none)'}: ${err instanceof Error ? err.message : String(err)}\n`);
  printSteps();
  const cpuTotal = process.cpuUsage(cpuStarted);
  console.log(`${'until the failure'.padEnd(18)} ${''.padStart(9)} ${sec((cpuTotal.user + cpuTotal.system) / 1000)} ${''.padStart(9)} ${''.padStart(10)} ${`${peakMiB()} MiB`.padStart(12)}`);
  console.log(`load average at the start ${loadAtStart.map((x) => x.toFixed(1)).join(' ')}, at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')} (1, 5, 15 min)`);
  process.exitCode = 1;
} finally {
  await store.close();
  await db.close();
  await deleteRedisPrefix(REDIS, prefix);
}
