/**
 * What an erasure costs on the full UCI Online Retail data (DELETE /v1/users/:id, src/privacy/user-erasure.ts):
 * Postgres rows, every kept model version in Redis (profiles, user index, ALS factors, per-user entries)
 * and the campaign export files, all under the erasure lock; and how long ingestion waits behind it.
 *
 *   npx tsx bench/erasure.ts [--erasures 10] [--data FILE]
 *
 * Imports the file into the Postgres schema `bench_erasure_online_retail` afresh each run (erasures delete
 * from it), trains the default recipe as written twice (two kept versions, recommenders stored) into
 * REDIS_URL under a random prefix deleted afterwards, writes one CSV export of every customer's top 10,
 * then erases customers one after another, the first of them while a batch of purchases is being written.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { exportRequest } from '../src/exports/export-request.js';
import { runExport } from '../src/exports/run-export.js';
import { createServices } from '../src/services.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { withoutDataArg } from './lib/online-retail.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const args = withoutDataArg();
const at = args.indexOf('--erasures');
const count = at >= 0 ? Number(args[at + 1]) : 10;
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'bench_erasure_online_retail';

await ensureOnlineRetailSchema(PG, SCHEMA, { fresh: true });
const db = createPgDb(PG, { max: 4, schema: SCHEMA });
const prefix = `bench_erasure_${randomBytes(3).toString('hex')}:`;
const store = createRedisModelStore({ url: REDIS, prefix });
const dir = await mkdtemp(join(tmpdir(), 'recsvc-erasure-bench-'));
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker', EXPORT_DIR: dir, AUTH_DISABLED: 'true' });
const services = createServices({ config, db, store });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const ms = (t: number) => `${t.toFixed(0)} ms`;

try {
  for (let v = 0; v < 2; v++) {
    const t0 = performance.now();
    const trained = await services.trainer.train({ tune: false });
    console.log(`trained ${trained.version} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${trained.data.users} customers)`);
  }
  const deps = { serving: services.serving, audiences: services.audiences, profiles: services.profiles, store };
  const exported = await runExport(deps, exportRequest.parse({ k: 10, format: 'csv' }), join(dir, 'all.csv'));
  console.log(`export: ${exported.rows} rows, ${(exported.bytes / 1024 / 1024).toFixed(1)} MiB`);

  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT $1`,
    [count],
  );
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
