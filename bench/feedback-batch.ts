/**
 * Browser feedback batches per second: POST /v1/feedback with a frontend key, each batch of `--batch` events
 * (100: FRONTEND_MAX_BATCH_SIZE's default) naming `--lists` signed recommendationIds (a page's lists: each
 * list's items shown, some clicked), through the app in process (Fastify inject) on the real Postgres.
 *
 *   npx tsx bench/feedback-batch.ts [--batches 400] [--batch 100] [--lists 10] [--concurrency 1]
 *
 * Uses the Postgres schema `bench_feedback_batch`, emptied of feedback at each run. Each batch names lists
 * never named before (personal lists of customers of the catalog, in an experiment), so every event is
 * stored: the cost measured is the labels' check (the tokens' HMACs), the insert and its transaction.
 * Prints batches per second and the median and 95th percentile of a batch's time, best of three runs.
 */
import { cpus, loadavg } from 'node:os';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { createServices } from '../src/services.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const batches = Number(option('--batches') ?? 400);
const batchSize = Number(option('--batch') ?? 100);
const lists = Number(option('--lists') ?? 10);
const concurrency = Number(option('--concurrency') ?? 1);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_feedback_batch';
const FRONTEND = 'bench-frontend-key-1';
const CUSTOMERS = 4_000;
const PRODUCTS = 4_000;

const admin = createPgDb(PG, { max: 1 });
await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
await admin.close();
const db = createPgDb(PG, { max: 10, schema: SCHEMA });
await migrate(db);
await db.exec('TRUNCATE feedback_events, users, items CASCADE');
await db.exec(`INSERT INTO users (id) SELECT 'u' || g FROM generate_series(1, ${CUSTOMERS}) g`);
await db.exec(`INSERT INTO items (id) SELECT 'i' || g FROM generate_series(1, ${PRODUCTS}) g`);

const config = loadConfig({
  LOG_LEVEL: 'silent',
  SAMPLE_DATA: 'false',
  API_KEYS: `frontend:${FRONTEND}`,
  JOB_RUNNER: 'worker',
  UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  ONLINE_METRICS_COUNT_MS: '0',
  FEEDBACK_RETENTION_DAYS: '0',
});
const services = createServices({ config, db, store: await createMemoryModelStore({}) });
const app = await buildApp(services);
await app.ready();
if (!(await services.recommendationIds.ready())) throw new Error('the key recommendationIds are signed with could not be read');

let serial = 0;
/** A batch of `batchSize` events over `lists` new personal lists: each list's items shown, every fourth clicked. */
function batch(): object[] {
  const events: object[] = [];
  const perList = Math.ceil(batchSize / lists);
  for (let l = 0; l < lists && events.length < batchSize; l++) {
    const n = serial++;
    const userId = `u${1 + (n % CUSTOMERS)}`;
    const arm = n % 2 ? 'treatment' : 'control';
    const recommendationId = services.recommendationIds.issue({ strategy: 'hybrid', modelVersion: '2026-12-01T00:00:00.000Z', experiment: { id: 'bench-ab', arm } }, { userId });
    const ts = new Date().toISOString();
    for (let j = 0; j < perList && events.length < batchSize; j++) {
      const type = j % 4 === 3 ? 'click' : 'impression';
      events.push({ userId, itemId: `i${1 + ((n * 7 + j) % PRODUCTS)}`, type, recommendationId, strategy: 'hybrid', experimentId: 'bench-ab', arm, ts });
    }
  }
  return events;
}

async function run(): Promise<{ perSecond: number; median: number; p95: number }> {
  const payloads = Array.from({ length: batches }, () => ({ events: batch() }));
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < payloads.length) {
        const payload = payloads[next++];
        const s = performance.now();
        const res = await app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}` }, payload });
        times.push(performance.now() - s);
        if (res.statusCode !== 200) throw new Error(`POST /v1/feedback answered ${res.statusCode}: ${res.body}`);
        if (res.json().unknownLabels !== 0) throw new Error(`unexpected answer: ${res.body}`);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { perSecond: (batches * 1000) / elapsed, median: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)] };
}

console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${batches} batches of ${batchSize} events over ${lists} lists each, ${concurrency} at a time, frontend key`);
await run(); // warm-up: the first statements' plans, the JIT
const results = [];
for (let r = 0; r < 3; r++) {
  await db.exec('TRUNCATE feedback_events');
  results.push(await run());
}
const best = results.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
for (const r of results) console.log(`  ${r.perSecond.toFixed(1)} batches/s, median ${r.median.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms`);
console.log(`best: ${best.perSecond.toFixed(1)} batches/s (${Math.round(best.perSecond * batchSize).toLocaleString('en-US')} events/s), median ${best.median.toFixed(2)} ms`);
await app.close();
await db.close();
