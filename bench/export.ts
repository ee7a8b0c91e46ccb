/**
 * Campaign export benchmark: every customer's top-10 (hybrid) on the full UCI Online Retail data,
 * written to CSV and to JSON Lines by the export code (src/exports/run-export.ts) exactly as an export
 * job does, served from Redis like a deployed API. Target (issue 14): all 4,334 customers in < 60 s.
 * Also checks that the rows equal the API's answers for 100 customers spread over the file.
 *
 *   npx tsx bench/export.ts [--fresh] [--data FILE]
 *
 * The data lives in the Postgres schema `bench_export_online_retail` (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test), imported once by `npm run import` in a child process
 * (`--fresh` imports again); the model is trained into REDIS_URL (default redis://127.0.0.1:6379)
 * under a random prefix deleted afterwards. The file: --data FILE, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz beside the repository.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
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
const fresh = args.includes('--fresh');
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'bench_export_online_retail';
const TARGET_MS = 60_000;

await ensureOnlineRetailSchema(PG, SCHEMA, { fresh });
const db = createPgDb(PG, { max: 4, schema: SCHEMA });
const prefix = `bench_export_${randomBytes(3).toString('hex')}:`;
const store = createRedisModelStore({ url: REDIS, prefix });
const dir = await mkdtemp(join(tmpdir(), 'recsvc-export-bench-'));
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker', EXPORT_DIR: dir, AUTH_DISABLED: 'true' });
const services = createServices({ config, db, store });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

try {
  const t0 = performance.now();
  const trained = await services.trainer.train();
  console.log(`trained ${trained.version} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${trained.data.users} customers)`);
  const deps = { serving: services.serving, audiences: services.audiences, profiles: services.profiles, store };
  for (const format of ['csv', 'jsonl'] as const) {
    const file = join(dir, `all.${format}`);
    // A fresh process's first export: the answer cache holds nothing yet.
    const result = await runExport(deps, exportRequest.parse({ k: 10, format }), file);
    const verdict = result.ms < TARGET_MS ? 'ok' : 'MISSED';
    console.log(`${format}: ${result.customers} customers, ${result.rows} rows, ${(result.bytes / 1024 / 1024).toFixed(1)} MiB in ${(result.ms / 1000).toFixed(2)} s ` +
      `(target < 60 s: ${verdict}); load average ${load()} on ${cpus().length} cores`);
    if (format === 'csv') {
      const rows = parse(await readFile(file, 'utf8'), { columns: true }) as Record<string, string>[];
      const byUser = new Map<string, string[]>();
      for (const r of rows) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r.itemId]);
      const users = [...byUser.keys()];
      let same = 0;
      const checked = users.filter((_, n) => n % Math.max(1, Math.floor(users.length / 100)) === 0);
      for (const u of checked) {
        const api = await services.serving.recommendForUser(u, { k: 10, strategy: 'hybrid' });
        if (JSON.stringify(api.items.map((i) => i.itemId)) === JSON.stringify(byUser.get(u))) same++;
      }
      console.log(`rows equal to the API's answer: ${same} of ${checked.length} customers checked`);
    }
  }
} finally {
  await store.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  await deleteRedisPrefix(REDIS, prefix);
}
