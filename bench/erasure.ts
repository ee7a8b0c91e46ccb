/**
 * What an erasure costs on the full UCI Online Retail data (DELETE /v1/users/:id, src/privacy/user-erasure.ts):
 * Postgres rows, every kept model version in Redis (profiles, user index, ALS factors, per-user entries)
 * and the campaign export files, all under the erasure lock; and how long ingestion waits behind it.
 *
 *   npx tsx bench/erasure.ts [--erasures 10] [--burst 20] [--copies N] [--feedback N] [--data FILE]
 *
 * Imports the file (N re-keyed copies of it with --copies, a shop N times larger, as bench/scale.ts makes)
 * into the Postgres schema `bench_erasure_online_retail` afresh each run (erasures delete from it), trains the default recipe as written twice (two kept versions, recommenders stored) into
 * REDIS_URL under a random prefix deleted afterwards, writes one CSV export of every customer's top 10,
 * then erases customers one after another, the first of them while a batch of purchases is being written.
 * Prints where the erasures' time went: the model store's calls per artifact, the export files, and the rest
 * (Postgres, locks). Then erases the next --burst customers all at once (a data team's backlog sent together:
 * the erasures that wait for a turn are done in one, src/privacy/user-erasure.ts ERASURE_BATCH).
 * With --feedback N, N feedback events (impressions of the shop's customers and products over a year) are
 * stored before the erasures: what a storefront reporting its lists adds, and an erasure deletes from.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { exportRequest } from '../src/exports/export-request.js';
import { runExport } from '../src/exports/run-export.js';
import { scrubExportFiles } from '../src/privacy/export-files.js';
import { createServices } from '../src/services.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { optionTaker, withoutDataArg } from './lib/online-retail.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const option = optionTaker(withoutDataArg());
const count = Number(option('--erasures') ?? 10);
const burst = Number(option('--burst') ?? 20);
const copies = Number(option('--copies') ?? 1);
const feedbackRows = Number(option('--feedback') ?? 0);
if (!Number.isInteger(copies) || copies < 1) throw new Error(`--copies: expected a whole number >= 1, got ${copies}`);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'bench_erasure_online_retail';

await ensureOnlineRetailSchema(PG, SCHEMA, { fresh: true, copies });
const db = createPgDb(PG, { max: 4, schema: SCHEMA });
if (feedbackRows > 0) {
  const f0 = performance.now();
  await db.query(
    `WITH u AS (SELECT array_agg(id ORDER BY id) AS a FROM users), i AS (SELECT array_agg(id ORDER BY id) AS a FROM items)
     INSERT INTO feedback_events (event_id, user_id, item_id, type, strategy, ts)
     SELECT 'bench-feedback-' || g, u.a[1 + (g::bigint * 7919) % cardinality(u.a)], i.a[1 + (g::bigint * 104729) % cardinality(i.a)], 'impression', 'hybrid',
            now() - (g % 365) * interval '1 day'
     FROM u, i, generate_series(1, $1::int) g`,
    [feedbackRows],
  );
  await db.exec('ANALYZE feedback_events');
  console.log(`${feedbackRows.toLocaleString('en-US')} feedback events stored in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
}
const prefix = `bench_erasure_${randomBytes(3).toString('hex')}:`;
const spent = new Map<string, number>();
const timed = <T>(what: string, run: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  return run().finally(() => spent.set(what, (spent.get(what) ?? 0) + performance.now() - t0));
};
const redisStore = createRedisModelStore({ url: REDIS, prefix });
// The store's calls an erasure makes, timed by call and artifact (the training's calls are cleared before the erasures).
const store: typeof redisStore = {
  ...redisStore,
  getArtifact: (version, name) => timed(`store: read ${name}`, () => redisStore.getArtifact(version, name)),
  redactArtifact: (version, name, bytes) => timed(`store: rewrite ${name}`, () => redisStore.redactArtifact(version, name, bytes)),
  deleteUser: (id, drafts) => timed('store: per-user entries and live events', () => redisStore.deleteUser(id, drafts)),
};
const dir = await mkdtemp(join(tmpdir(), 'recsvc-erasure-bench-'));
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker', EXPORT_DIR: dir, AUTH_DISABLED: 'true' });
const services = createServices({ config, db, store });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const ms = (t: number) => `${t.toFixed(0)} ms`;

try {
  for (let v = 0; v < 2; v++) {
    const t0 = performance.now();
    const trained = await services.trainer.train({ tune: false });
    console.log(`trained ${trained.version} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${trained.data.users} customers, ${trained.data.items} products)`);
  }
  const deps = { serving: services.serving, audiences: services.audiences, profiles: services.profiles, store };
  const exported = await runExport(deps, exportRequest.parse({ k: 10, format: 'csv' }), join(dir, 'all.csv'));
  console.log(`export: ${exported.rows} rows, ${(exported.bytes / 1024 / 1024).toFixed(1)} MiB`);

  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT $1`,
    [count],
  );
  // The burst: the next customers by purchases, after the one erased apart for the export measurement.
  const { rows: burstRows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id OFFSET $1 LIMIT $2`,
    [count + 1, burst],
  );
  // One file rewrite without a customer who is not erased below: what each erasure pays per export file holding its customer.
  const { rows: [other] } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id OFFSET $1 LIMIT 1`,
    [count],
  );
  const s0 = performance.now();
  await scrubExportFiles(dir, new Set([other.user_id]));
  const exportScrub = performance.now() - s0;
  spent.clear();
  const times: number[] = [];
  let ingestWait = 0;
  for (const [n, { user_id: id }] of rows.entries()) {
    const t0 = performance.now();
    const erasing = services.eraseUser(id);
    // The first erasure: a batch of 100 purchases of other customers arrives while it runs.
    const ingest =
      n === 0
        ? (async () => {
            await new Promise((r) => setTimeout(r, 5));
            const s = performance.now();
            const batch = Array.from({ length: 100 }, (_, k) => ({ userId: `new-${k}`, itemId: '85123A', quantity: 1, price: 2.55, orderId: `bench-${k}`, ts: new Date() }));
            await services.recordPurchases(batch);
            ingestWait = performance.now() - s;
          })()
        : Promise.resolve();
    await Promise.all([erasing, ingest]);
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`${count} erasures of the customers with the most purchases, one after another, 2 kept versions and 1 export file:`);
  console.log(`  mean ${ms(times.reduce((a, b) => a + b, 0) / times.length)}, median ${ms(sorted[Math.floor(sorted.length / 2)])}, max ${ms(sorted.at(-1)!)}`);
  console.log(`  a batch of 100 purchases written during the first erasure took ${ms(ingestWait)}`);
  const total = times.reduce((a, b) => a + b, 0);
  let inStore = 0;
  console.log(`where an erasure's time went (mean per erasure):`);
  for (const [what, t] of [...spent].sort((a, b) => b[1] - a[1])) {
    inStore += t;
    console.log(`  ${what}: ${ms(t / count)}`);
  }
  console.log(`  the rest (decoding and encoding artifacts, export files, Postgres, locks): ${ms((total - inStore) / count)}`);
  console.log(`  (one export file rewritten without one customer, measured apart: ${ms(exportScrub)})`);
  if (burstRows.length > 0) {
    const b0 = performance.now();
    const answers = await Promise.all(burstRows.map(({ user_id: id }) => services.eraseUser(id)));
    const took = performance.now() - b0;
    if (!answers.every(Boolean)) throw new Error('an erasure of the burst did not find its customer');
    console.log(`${burstRows.length} erasures asked at once: all done in ${ms(took)} (${ms(took / burstRows.length)} per customer)`);
  }
  console.log(`load average ${load()} on ${cpus().length} cores`);
} finally {
  await store.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  await deleteRedisPrefix(REDIS, prefix);
  const admin = createPgDb(PG, { max: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.close();
}
