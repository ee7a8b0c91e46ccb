/**
 * What a page of the customer list costs by spend and by recency on a shop N times Online Retail: the
 * first page, a page by `offset`, and the page after the first by its `nextCursor` (which also counts only
 * the purchases stored by the first page's time: a filter on every purchase row).
 *
 *   npx tsx bench/customer-pages.ts [--copies 10] [--runs 5] [--limit 50] [--data FILE]
 *
 * Uses the schema of bench/request-statements.ts (`bench_requests_online_retail`, imported once and kept),
 * asks each page `runs` times through the app in process (Fastify inject, no statement limit) and prints
 * the median and the slowest. A tree without `cursor` (before it) prints the first and offset pages only.
 */
import { cpus, loadavg } from 'node:os';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { createServices } from '../src/services.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { optionTaker, withoutDataArg } from './lib/online-retail.js';

const option = optionTaker(withoutDataArg());
const copies = Number(option('--copies') ?? 10);
const runs = Number(option('--runs') ?? 5);
const limit = Number(option('--limit') ?? 50);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_requests_online_retail';

await ensureOnlineRetailSchema(PG, SCHEMA, { copies });
const db = createPgDb(PG, { max: 10, schema: SCHEMA });
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', AUTH_DISABLED: 'true', JOB_RUNNER: 'worker', PG_QUERY_TIMEOUT_MS: '0', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' });
const services = createServices({ config, db, store: await createMemoryModelStore({}) });
const app = await buildApp(services);
await app.ready();

async function timed(url: string): Promise<{ ms: number[]; body: Record<string, unknown> }> {
  const ms: number[] = [];
  let body: Record<string, unknown> = {};
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const res = await app.inject({ url });
    ms.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    body = res.json();
  }
  return { ms, body };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const counts = (await db.query<{ purchases: number; customers: number }>('SELECT count(*)::int AS purchases, count(DISTINCT user_id)::int AS customers FROM purchase_events')).rows[0];
  console.log(`${copies}x Online Retail: ${counts.purchases} purchases, ${counts.customers} customers; ${runs} asks each of ${limit} customers, in-process`);
  console.log(`\n${'page'.padEnd(36)} ${'median'.padStart(9)} ${'slowest'.padStart(9)}`);
  for (const sort of ['spend', 'recent']) {
    const list = `/v1/users?sort=${sort}&limit=${limit}`;
    const first = await timed(list);
    const rows: [string, number[]][] = [[`by ${sort}, first page`, first.ms], [`by ${sort}, offset=${limit}`, (await timed(`${list}&offset=${limit}`)).ms]];
    const next = first.body.nextCursor;
    if (typeof next === 'string') rows.push([`by ${sort}, second page by cursor`, (await timed(`${list}&cursor=${encodeURIComponent(next)}`)).ms]);
    for (const [what, ms] of rows) console.log(`${what.padEnd(36)} ${`${median(ms).toFixed(0)} ms`.padStart(9)} ${`${Math.max(...ms).toFixed(0)} ms`.padStart(9)}`);
  }
  console.log(`\nload average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores, ${new Date().toISOString()}`);
} finally {
  await app.close();
  await services.store.close();
  await db.close();
}
