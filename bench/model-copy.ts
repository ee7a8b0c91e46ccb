/**
 * The cost of MODEL_COPIES (src/training/model-copies.ts, model-restore.ts): a training of the default recipe on the
 * full Online Retail data (or N re-keyed copies of it, or a shop already imported), with its version copied into
 * Postgres as it writes Redis, then the version put back from that copy into a model store that holds nothing (a
 * fresh Redis prefix: what a Redis restarted without persistence looks like to the store), as model recovery does it
 * (the lease, the draft, the erasure scrub and the publish).
 *
 *   npx tsx bench/model-copy.ts [--copies N] [--shop] [--no-tune] [--compare] [--kept N]
 *
 * Prints the training's total and the time spent on the copy within it (encoding, compression and Postgres writes,
 * which the training waits for), the copy's size (decoded and as stored), chunks and Postgres footprint (the table
 * vacuumed full first, so earlier runs' dead rows are not counted), and the restore's time and peak RSS, checking
 * that the store then holds the version whole. `--compare` also trains once without a copy first (the same data),
 * for the training's total both ways. `--kept N`: N trainings (N versions kept, each copied; N at most
 * MODEL_VERSIONS_KEPT), all put back by the restore (the active one first, then the others in their order): the time
 * until the active one is back (polled every 20 ms) and until every one is, each checked whole. `--shop`: the shop in DATABASE_URL's own tables (e.g. `npm run import --
 * generic DIR` of `bench/lib/fashion-shop.py DIR`), precomputed as `npm run train` does. The data lives in schema
 * `bench_model_copy_online_retail` (or `..._Nx`) of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
 * the models go to REDIS_URL (default redis://127.0.0.1:6379) under random prefixes deleted afterwards, and the
 * copies made are deleted.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createServices } from '../src/services.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { createTrainer } from '../src/training/train-model.js';
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { lostFromStore, type ContentsSummary } from '../src/training/write-model-version.js';
import { openModelCopyBench } from './lib/model-copy-bench.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const args = process.argv.slice(2);
const compare = args.includes('--compare');
const keptAt = args.indexOf('--kept');
const kept = keptAt >= 0 ? Number(args[keptAt + 1]) : 1;

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

const { db, config, tune, REDIS } = await openModelCopyBench(args);
const prefixes = [`bench_copy_a_${randomBytes(3).toString('hex')}:`, `bench_copy_b_${randomBytes(3).toString('hex')}:`, `bench_copy_c_${randomBytes(3).toString('hex')}:`];
const trained = createRedisModelStore({ url: REDIS, prefix: prefixes[0] });
const emptied = createRedisModelStore({ url: REDIS, prefix: prefixes[1] });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`machine: ${cpus().length} cores, load average at start ${load()}`);

try {
  await db.query('DELETE FROM model_copies');
  // The dead rows of earlier runs' copies returned to the system: the size on disk measured is this run's copies.
  await db.query('VACUUM FULL model_copy_chunks');
  if (compare) {
    const plain = createRedisModelStore({ url: REDIS, prefix: prefixes[2] });
    const t = createTrainer({ events: createEventRepository(db), catalog: createCatalogRepository(db), store: plain, defaultRecipe: config.DEFAULT_RECIPE, precomputeDays: config.PRECOMPUTE_DAYS });
    const r = await t.train({ tune });
    console.log(`training without a copy: total ${r.durations.total} ms (write ${r.durations.write} ms)`);
    await plain.close();
  }
  const a = createServices({ config, db, store: trained });
  for (let i = 1; i < kept; i++) {
    const r = await a.trainer.train({ tune });
    console.log(`training ${i} of ${kept}: total ${r.durations.total} ms; copy ${r.copy ? `${mib(r.copy.bytes)} MiB in ${r.copy.chunks} chunks` : 'none'}; load ${load()}`);
  }
  const t0 = performance.now();
  const result = await a.trainer.train({ tune });
  const trainMs = Math.round(performance.now() - t0);
  const { rows } = await db.query<{ size: string }>("SELECT pg_total_relation_size('model_copy_chunks') AS size");
  console.log(`training with its copy: total ${result.durations.total} ms (write ${result.durations.write} ms; ${trainMs} ms with the copies' bookkeeping after the publish)`);
  console.log(`copy: ${result.copy ? `${mib(result.copy.bytes)} MiB in ${result.copy.chunks} chunks (${mib(result.copy.stored)} MiB as stored), ${result.copy.ms} ms encoding, compressing and writing` : 'none (failed: see the log)'}; model_copy_chunks on disk ${mib(Number(rows[0].size))} MiB; peak RSS ${peakMiB()} MiB; load ${load()}`);

  // Another process on a Redis that came back empty: the store it reads holds nothing.
  const b = createServices({ config, db, store: emptied });
  const peakBefore = peakMiB();
  const before = (await trained.listVersions()).map((m) => m.version);
  const cpu0 = process.cpuUsage();
  const r0 = performance.now();
  let activeMs: number | null = null;
  let restoring = true;
  const polled = (async () => {
    while (restoring && activeMs === null) {
      if ((await emptied.getActive()) !== null) activeMs = Math.round(performance.now() - r0);
      else await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const outcome = await b.modelRestore!.restore().finally(() => (restoring = false));
  const restoreMs = Math.round(performance.now() - r0);
  const cpu = process.cpuUsage(cpu0);
  await polled;
  const active = await emptied.getActive();
  const lost = await lostFromStore(emptied, result.version, active!.info.contents as ContentsSummary, 0);
  console.log(`restore: ${outcome} in ${restoreMs} ms (CPU of this process ${Math.round((cpu.user + cpu.system) / 1000)} ms); the active version back after ${activeMs ?? '?'} ms; active ${active?.version === result.version ? 'is the trained version' : `is ${active?.version ?? 'none'}`}; ${lost === null ? 'every artifact and table entry back' : `missing: ${lost}`}; peak RSS ${peakMiB()} MiB (${peakBefore} before); load ${load()}`);
  const after = await emptied.listVersions();
  const whole = await Promise.all(after.map(async (m) => (await lostFromStore(emptied, m.version, m.info.contents as ContentsSummary, 0)) === null));
  console.log(`versions listed before the loss ${before.length}, put back ${after.length}, in the same order: ${JSON.stringify(after.map((m) => m.version)) === JSON.stringify(before)}; each whole: ${whole.every(Boolean)}`);
} finally {
  await db.query('DELETE FROM model_copies').catch(() => {});
  for (const p of prefixes) await deleteRedisPrefix(REDIS, p);
  await trained.close();
  await emptied.close();
  await db.close();
}
process.exit(0);
