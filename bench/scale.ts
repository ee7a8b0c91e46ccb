/**
 * Scale benchmark: the Online Retail shop made N times larger, imported, trained and served end to end.
 *
 *   npm run bench:scale -- --copies N[,N...] [--data FILE] [--requests 500] [--recipe default] [--keep]
 *                          [--steps import,train,serve]
 *
 * For each N: writes a re-keyed copy of the file into os.tmpdir() (N disjoint shops: copy 0 keeps the
 * original keys, copy c gets customer `c{c}-ID`, stock code `CODE-c{c}` and invoice `INVOICE-c{c}`;
 * descriptions, prices, dates and countries stay as they are, and the copies of one invoice follow each
 * other, so the file stays in time order like a real shop's), then runs three phases:
 *   import   `runImport` (the importer behind `npm run import` and the import job) of that file into
 *            a fresh Postgres schema, in a child process of its own;
 *   train    `createTrainer(...).train()` of the recipe into Redis, exactly as a training job does
 *            (load, dataset, fits and serving build in a worker thread, write, publish), in another
 *            child process, so its peak RSS (process-wide: worker threads included) is the training's;
 *   serve    the real service (src/server.ts, its own process, flags of `npm start`) against that
 *            schema and Redis: `--requests` sequential requests for distinct random known customers
 *            never asked before ("first": nothing of theirs is cached in the process yet), then the same
 *            customers again ("repeated": finished answers reused), after a short warm-up on others.
 * Model-store bytes are Redis's MEMORY USAGE of every key of the published version. `--steps import` (or
 * `import,train`) stops after those phases; the table shows `-` for what was not run.
 *
 * One table for all N is printed at the end (markdown). Postgres: DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test), schema `bench_scale_<N>x_<random>`, dropped at the end unless
 * --keep. Redis: BENCH_SCALE_REDIS_URL (default redis://127.0.0.1:6379/12), a database number of its
 * own because the service uses its default key prefix; it must be empty at the start, and its keys are
 * deleted at the end unless --keep. The data file: --data FILE, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz beside the repository.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { runImport, type ImportReport } from '../src/data/importers/run-import.js';
import { migrate } from '../src/data/migrate.js';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import type { DataCounts } from '../src/training/dataset-guard.js';
import { createTrainer } from '../src/training/train-model.js';
import { spawnServer, waitReady } from './lib/service-process.js';
import { dataFile } from './lib/online-retail.js';
import { writeCopies } from './lib/rekeyed-copies.js';

const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_SCALE_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'bench-scale-read-key-0123456789';
/** Accepted rows of one copy of UCI Online Retail (its SOURCE.txt). */
const ONE_COPY_ACCEPTED = 396_337;

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);
const dbUrlFor = (schema: string) => `${PG}${PG.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

// ---------------------------------------------------------------------------------------------------
// Phases run as child processes: each prints one `RESULT <json>` line.

interface ImportPhase {
  report: ImportReport;
  peakMiB: number;
}

interface TrainPhase {
  version: string;
  data: DataCounts;
  durations: Record<string, number>;
  peakMiB: number;
  /** Peak RSS when loading and building the dataset were done (before the fits start). */
  peakAfterDatasetMiB: number;
  /** Peak RSS so far after each step of the training, in step order: the step where it jumps is the one to look at. */
  peakAfterStepMiB: Record<string, number>;
}

async function importPhase(schema: string, file: string): Promise<ImportPhase> {
  const db = createPgDb(PG, { schema, max: 4 });
  try {
    await migrate(db);
    const report = await runImport({ db }, { format: 'online-retail', path: file });
    return { report, peakMiB: peakMiB() };
  } finally {
    await db.close();
  }
}

async function trainPhase(schema: string, recipe: string): Promise<TrainPhase> {
  const db = createPgDb(PG, { schema, max: 4 });
  const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
  let peakAfterDatasetMiB = 0;
  const peakAfterStepMiB: Record<string, number> = {};
  try {
    const trainer = createTrainer({
      events: createEventRepository(db),
      catalog: createCatalogRepository(db),
      store,
      defaultRecipe: recipe,
      // As a training job: TRAIN_THREADS when set, else one thread per core.
      threads: process.env.TRAIN_THREADS ? Number(process.env.TRAIN_THREADS) : undefined,
      // Called by the trainer right after each of its steps: the peak of load + dataset alone.
      afterStep: (step) => {
        if (step === 'dataset') peakAfterDatasetMiB = peakMiB();
        peakAfterStepMiB[step] = peakMiB();
      },
    });
    const result = await trainer.train();
    return { version: result.version, data: result.data, durations: result.durations, peakMiB: peakMiB(), peakAfterDatasetMiB, peakAfterStepMiB };
  } finally {
    await store.close();
    await db.close();
  }
}

/** Runs this file with `--phase NAME ARGS...` in a child process; returns its RESULT. */
async function runPhase<T>(name: string, args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', name, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`phase ${name} failed (exit ${code}):\n${out.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

// ---------------------------------------------------------------------------------------------------
// Serving.

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Deterministic shuffle (xorshift), so two runs ask for the same customers. */
function shuffled<T>(values: T[], seed = 42): T[] {
  const out = values.slice();
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

interface Latencies {
  p50: number;
  p99: number;
  max: number;
}

function summarise(ms: number[]): Latencies {
  const sorted = ms.slice().sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

interface ServePhase {
  requests: number;
  first: Latencies;
  repeated: Latencies;
  fallbacks: number;
  startMs: number;
  serverPeakMiB: number;
}

/** Peak RSS of another process (VmHWM), MiB. */
function processPeakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

async function servePhase(schema: string, requests: number): Promise<ServePhase> {
  const db = createPgDb(PG, { schema, max: 1 });
  const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY user_id');
  await db.close();
  const users = shuffled(rows.map((r) => r.user_id));
  const warmUp = users.slice(0, 20);
  const asked = users.slice(20, 20 + requests);

  const port = await freePort();
  const started = performance.now();
  const server = spawnServer(port, {
    DATABASE_URL: dbUrlFor(schema),
    REDIS_URL: REDIS,
    API_KEYS: `read:${KEY}`,
    LOG_LEVEL: 'warn',
    SAMPLE_DATA: 'false',
    JOB_RUNNER: 'worker',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/health/ready`, server, 180_000);
    const startMs = performance.now() - started;
    let fallbacks = 0;
    const ask = async (user: string): Promise<number> => {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/users/${encodeURIComponent(user)}/recommendations?k=10`, { headers: { authorization: `Bearer ${KEY}` } });
      const body = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`user ${user}: HTTP ${res.status} ${body.slice(0, 300)}`);
      if ((JSON.parse(body) as { fallback?: boolean }).fallback) fallbacks++;
      return ms;
    };
    for (const u of warmUp) await ask(u);
    fallbacks = 0;
    const first: number[] = [];
    for (const u of asked) first.push(await ask(u));
    const repeated: number[] = [];
    for (const u of asked) repeated.push(await ask(u));
    return { requests: asked.length, first: summarise(first), repeated: summarise(repeated), fallbacks, startMs, serverPeakMiB: processPeakMiB(server.pid!) };
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}

// ---------------------------------------------------------------------------------------------------
// Redis.

/** MEMORY USAGE (bytes, exact: SAMPLES 0) of every key of a version. */
async function versionBytes(redis: Redis, version: string): Promise<{ bytes: number; keys: number }> {
  const keys = await redis.smembers(`${DEFAULT_REDIS_PREFIX}{v:${version}}:keys`);
  let bytes = 0;
  for (const key of [...keys, `${DEFAULT_REDIS_PREFIX}{v:${version}}:keys`]) {
    bytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) || 0;
  }
  return { bytes, keys: keys.length };
}

async function deleteServiceKeys(redis: Redis): Promise<void> {
  for await (const batch of redis.scanStream({ match: `${DEFAULT_REDIS_PREFIX}*`, count: 1000 })) {
    if ((batch as string[]).length > 0) await redis.unlink(...(batch as string[]));
  }
}

// ---------------------------------------------------------------------------------------------------
// One N, and the table.

interface Run {
  copies: number;
  writeMs: number;
  import: ImportPhase;
  train?: TrainPhase;
  store?: { bytes: number; keys: number };
  serve?: ServePhase;
  load: string;
}

type Step = 'import' | 'train' | 'serve';

async function runCopies(copies: number, file: string, opts: { requests: number; recipe: string; keep: boolean; steps: Step[] }): Promise<Run> {
  const schema = `bench_scale_${copies}x_${randomBytes(3).toString('hex')}`;
  const redis = new Redis(REDIS);
  const admin = createPgDb(PG, { max: 1 });
  const tmp = path.join(tmpdir(), `${schema}.csv.gz`);
  try {
    const size = await redis.dbsize();
    if (size > 0) throw new Error(`Redis ${REDIS} holds ${size} keys: give the bench an empty database (BENCH_SCALE_REDIS_URL) or empty it`);
    const log = (msg: string) => console.error(`[${copies}x] ${msg}`);
    const t0 = performance.now();
    log(`writing ${copies} re-keyed copies of ${file} to ${tmp} ...`);
    await writeCopies(file, copies, tmp);
    const writeMs = performance.now() - t0;
    await admin.exec(`CREATE SCHEMA ${schema}`);
    log(`importing into schema ${schema} ...`);
    const imported = await runPhase<ImportPhase>('import', [schema, tmp]);
    log(`imported ${imported.report.accepted} purchases in ${(imported.report.durationMs / 1000).toFixed(1)} s`);
    if (imported.report.accepted !== copies * ONE_COPY_ACCEPTED) log(`WARNING: expected ${copies * ONE_COPY_ACCEPTED} accepted rows`);
    let trained: TrainPhase | undefined;
    let store: Run['store'];
    let serve: ServePhase | undefined;
    if (opts.steps.includes('train')) {
      log('training ...');
      trained = await runPhase<TrainPhase>('train', [schema, opts.recipe]);
      log(`trained ${trained.version} in ${(trained.durations.total / 1000).toFixed(1)} s`);
      log(`peak RSS after each step (MiB): ${Object.entries(trained.peakAfterStepMiB).map(([step, mb]) => `${step} ${mb}`).join(', ')}`);
      store = await versionBytes(redis, trained.version);
      if (opts.steps.includes('serve')) {
        log('serving ...');
        serve = await servePhase(schema, opts.requests);
      }
    }
    const load = loadavg().map((l) => l.toFixed(1)).join(' ');
    log(`done; load average ${load}`);
    return { copies, writeMs, import: imported, train: trained, store, serve, load };
  } finally {
    await rm(tmp, { force: true });
    if (!opts.keep) {
      await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch((e) => console.error(`could not drop ${schema}:`, e));
      await deleteServiceKeys(redis).catch((e) => console.error('could not delete the Redis keys:', e));
    } else console.error(`kept schema ${schema} and the model in ${REDIS}`);
    await admin.close();
    await redis.quit();
  }
}

function printTable(runs: Run[], requests: number): void {
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  const ms = (v: number) => v.toFixed(1);
  const int = (n: number) => n.toLocaleString('en-US');
  const mib = (n: number) => `${int(n)} MiB`;
  const lat = (l: Latencies) => `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;
  // A cell of a phase that did not run is '-'.
  const of = <T,>(pick: (r: Run) => T | undefined, show: (v: T, r: Run) => string) => (r: Run) => {
    const v = pick(r);
    return v === undefined ? '-' : show(v, r);
  };
  const report = (r: Run) => r.import.report;
  const rows: [string, (r: Run) => string][] = [
    ['purchases', (r) => int(report(r).accepted)],
    ['customers', (r) => int(report(r).users)],
    ['products', (r) => int(report(r).items)],
    ['orders', (r) => int(report(r).orders)],
    ['import', (r) => s(report(r).durationMs)],
    ['import peak RSS', (r) => mib(r.import.peakMiB)],
  ];
  const steps: string[] = [];
  for (const r of runs) for (const k of Object.keys(r.train?.durations ?? {})) if (k !== 'total' && !steps.includes(k)) steps.push(k);
  for (const step of steps) rows.push([`train: ${step}`, (r) => s(r.train?.durations[step])]);
  const base = runs[0];
  rows.push(
    ['**train total**', of((r) => r.train, (t) => `**${s(t.durations.total)}**`)],
    [`train total / ${base.copies}x`, of((r) => r.train, (t) => (base.train ? (t.durations.total / base.train.durations.total).toFixed(2) : '-'))],
    ['train peak RSS after load + dataset', of((r) => r.train, (t) => mib(t.peakAfterDatasetMiB))],
    ['**train peak RSS**', of((r) => r.train, (t) => `**${mib(t.peakMiB)}**`)],
    ['model store (Redis MEMORY USAGE)', of((r) => r.store, (st) => mib(Math.round(st.bytes / 1024 / 1024)))],
    ['store bytes per customer', of((r) => r.store, (st, r) => int(Math.round(st.bytes / r.train!.data.users)))],
    ['store bytes per product', of((r) => r.store, (st, r) => int(Math.round(st.bytes / r.train!.data.catalogItems)))],
    ['store bytes per purchase', of((r) => r.store, (st, r) => int(Math.round(st.bytes / r.train!.data.events)))],
    ['service start to ready', of((r) => r.serve, (sv) => s(sv.startMs))],
    ['first request p50 / p99 / max (ms)', of((r) => r.serve, (sv) => lat(sv.first))],
    ['repeated request p50 / p99 / max (ms)', of((r) => r.serve, (sv) => lat(sv.repeated))],
    ['fallback answers (of requests)', of((r) => r.serve, (sv) => `${sv.fallbacks} / ${sv.requests}`)],
    ['service peak RSS', of((r) => r.serve, (sv) => mib(sv.serverPeakMiB))],
    ['load average at the end', (r) => r.load],
  );
  console.log(`\n| | ${runs.map((r) => `${r.copies}x`).join(' | ')} |`);
  console.log(`|---|${runs.map(() => '---:').join('|')}|`);
  for (const [label, value] of rows) console.log(`| ${label} | ${runs.map(value).join(' | ')} |`);
  console.log(`\n${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} vCPUs, Node ${process.versions.node}; ` +
    `${requests} sequential first and repeated requests (k=10) per N; Redis ${REDIS}`);
}

async function main(): Promise<void> {
  const phase = option('phase');
  if (phase === 'import') {
    const [schema, file] = argv.slice(argv.indexOf('--phase') + 2);
    console.log(`RESULT ${JSON.stringify(await importPhase(schema, file))}`);
    return;
  }
  if (phase === 'train') {
    const [schema, recipe] = argv.slice(argv.indexOf('--phase') + 2);
    console.log(`RESULT ${JSON.stringify(await trainPhase(schema, recipe))}`);
    return;
  }
  const file = dataFile(argv);
  const copies = (option('copies') ?? '1').split(',').map(Number);
  if (copies.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--copies: expected N or N,N,..., got ${option('copies')}`);
  const requests = Number(option('requests') ?? 500);
  const steps = (option('steps') ?? 'import,train,serve').split(',') as Step[];
  if (!steps.includes('import') || steps.some((st) => !['import', 'train', 'serve'].includes(st))) {
    throw new Error(`--steps: import, then optionally train and serve; got ${option('steps')}`);
  }
  const opts = { requests, recipe: option('recipe') ?? 'default', keep: argv.includes('--keep'), steps };
  const runs: Run[] = [];
  for (const n of copies) {
    runs.push(await runCopies(n, file, opts));
    printTable(runs, requests);
  }
}

await main();
