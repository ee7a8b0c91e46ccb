/**
 * How long the Postgres-bound requests take on a shop N times Online Retail, with no statement limit: the
 * evidence for PG_QUERY_TIMEOUT_MS's default (a request whose slowest statement outlives the limit would be
 * answered 503 instead). Every request below makes its answer from Postgres, none from a model.
 *
 *   npx tsx bench/request-statements.ts [--copies 10] [--runs 5] [--limit MS] [--data FILE]
 *
 * Imports N re-keyed copies of the file (as bench/scale.ts makes them) into the Postgres schema
 * `bench_requests_online_retail` once (kept for the next run), then asks each request `runs` times
 * through the app in-process (Fastify inject) with PG_QUERY_TIMEOUT_MS=0, and prints the first (cold) and
 * the slowest of the rest, and then how many of the same requests a limit refuses (--limit, default
 * PG_QUERY_TIMEOUT_MS's default), in a fresh app: its shared scans (popularity lists, lifecycle history) cold.
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
const limit = Number(option('--limit') ?? loadConfig({}).PG_QUERY_TIMEOUT_MS);
if (!Number.isInteger(copies) || copies < 1) throw new Error(`--copies: expected a whole number >= 1, got ${copies}`);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_requests_online_retail';

await ensureOnlineRetailSchema(PG, SCHEMA, { copies });
const db = createPgDb(PG, { max: 10, schema: SCHEMA });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

async function measure(limitMs: number) {
  const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', AUTH_DISABLED: 'true', JOB_RUNNER: 'worker', PG_QUERY_TIMEOUT_MS: String(limitMs), UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' });
  const services = createServices({ config, db, store: await createMemoryModelStore({}) });
  const app = await buildApp(services);
  await app.ready();
  const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC LIMIT 1');
  const heavy = rows[0].user_id;
  const requests: [string, string][] = [
    ['overview', '/v1/overview'],
    ['lifecycle history', '/v1/segments/lifecycle-history'],
    ['customers by spend', '/v1/users?sort=spend&limit=50'],
    ['customers by recency', '/v1/users?sort=recent&limit=50'],
    ['customer id prefix', '/v1/users?q=c9-1&limit=50'],
    ['popular (no model yet)', '/v1/popular?k=10'],
    ['popular, last 30 days', '/v1/popular?k=10&windowDays=30'],
    ['popular, by country', '/v1/popular?k=10&attribute=country:France'],
    ['recommendations (no model yet)', `/v1/users/${heavy}/recommendations?k=10`],
    ['customer events', `/v1/users/${heavy}/events?limit=100`],
    ['online metrics', '/v1/metrics/online/daily?days=30'],
    ['metrics scrape', '/metrics'],
  ];
  const out: { what: string; first: number; worst: number; refused: number }[] = [];
  for (const [what, url] of requests) {
    const times: number[] = [];
    let refused = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const res = await app.inject({ url });
      times.push(performance.now() - t0);
      if (res.statusCode === 503) refused++;
      else if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    out.push({ what, first: times[0], worst: Math.max(...times.slice(1)), refused });
  }
  await app.close();
  await services.store.close();
  return out;
}

try {
  const counts = (await db.query<{ purchases: number; customers: number }>('SELECT count(*)::int AS purchases, count(DISTINCT user_id)::int AS customers FROM purchase_events')).rows[0];
  console.log(`${copies}x Online Retail: ${counts.purchases} purchases, ${counts.customers} customers; ${runs} asks each, in-process`);
  const free = await measure(0);
  console.log(`\nno statement limit (PG_QUERY_TIMEOUT_MS=0):\n`);
  console.log(`${'request'.padEnd(32)} ${'first'.padStart(9)} ${'slowest of the rest'.padStart(20)}`);
  for (const r of free) console.log(`${r.what.padEnd(32)} ${`${r.first.toFixed(0)} ms`.padStart(9)} ${`${r.worst.toFixed(0)} ms`.padStart(20)}`);
  const limited = await measure(limit);
  const refused = limited.filter((r) => r.refused > 0);
  console.log(`\nwith a limit of ${limit} ms: ${refused.length === 0 ? 'no request refused' : refused.map((r) => `${r.what}: ${r.refused} of ${runs} refused`).join('; ')}`);
  console.log(`load average ${load()} on ${cpus().length} cores`);
} finally {
  await db.close();
}
