/**
 * What the lists of single strategies (`GET /v1/users/:id/recommendations?strategy=<source>`) cost a
 * version: its size in Redis, table by table, and the latency of a precomputed customer's list when the
 * version stores it (`serving.strategyLists: "stored"`, read from Redis) or scores it on request (the
 * default: the customer's purchases from Postgres, scored by the version's loaded recommenders). On a shop
 * imported and trained into DATABASE_URL and REDIS_URL (default key prefix); reads only.
 *
 *   DATABASE_URL=... REDIS_URL=... npx tsx bench/strategy-lists.ts [--customers 300] [--version V]
 *
 * In this process, as a server would hold the version: for `customers` precomputed customers (spread over
 * the users table) and every single strategy, the first ask (a stored list: one Redis read; on request:
 * one Postgres read and the scoring) and the second (the list kept for the version). Customers are asked
 * one at a time, strategies in turn, so a latency is one request's alone.
 */
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { onRequestScorerOf, recommendForUser } from '../src/serving/recommend-for-user.js';
import type { ServingDeps } from '../src/serving/serving-deps.js';
import { singleStrategies } from '../src/serving/serving-model-builder.js';
import { loadServingModel } from '../src/serving/serving-model.js';
import { USERS_TABLE } from '../src/serving/user-entry.js';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { optionTaker } from './lib/online-retail.js';
import { precomputedCustomers } from './lib/precomputed-customers.js';

const option = optionTaker(process.argv.slice(2));
const CUSTOMERS = Number(option('--customers') ?? 300);
const PG = process.env.DATABASE_URL;
const REDIS = process.env.REDIS_URL;
if (!PG || !REDIS) throw new Error('set DATABASE_URL and REDIS_URL to a shop imported and trained there (see the header)');

const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
const wanted = option('--version');
const meta = wanted ? (await store.listVersions()).find((v) => v.version === wanted) : await store.getActive();
if (!meta) throw new Error(wanted ? `no version ${wanted}` : 'no active version: train the shop first');
const model = await loadServingModel(store, meta);
if (!model) throw new Error(`version ${meta.version} has no serving artifacts`);
const how = model.info.strategyLists ?? 'stored';
console.log(`# strategy-lists: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`version ${meta.version}: ${model.items.ids.length} items, single-strategy lists ${how}`);

// The version's size in Redis, by key (MEMORY USAGE with every element counted).
const redis = new Redis(REDIS);
const keys: string[] = [];
let cursor = '0';
do {
  const [next, found] = await redis.scan(cursor, 'MATCH', `${DEFAULT_REDIS_PREFIX}{v:${meta.version}}:*`, 'COUNT', 1000);
  cursor = next;
  keys.push(...found);
} while (cursor !== '0');
const sizes = new Map<string, number>();
for (const key of keys) sizes.set(key.slice(key.indexOf('}:') + 2), Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')));
const mb = (b: number) => (b / 2 ** 20).toFixed(0);
const total = [...sizes.values()].reduce((a, b) => a + b, 0);
const strategyTables = [...sizes].filter(([k]) => k.startsWith('table:serving-user-'));
console.log(`\nin Redis: ${mb(total)} MiB in ${keys.length} keys; users table ${mb(sizes.get(`table:${USERS_TABLE}`) ?? 0)} MiB; single-strategy tables ${mb(strategyTables.reduce((a, [, b]) => a + b, 0))} MiB`);
for (const [k, b] of [...sizes].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`  ${k.padEnd(40)} ${mb(b).padStart(6)} MiB`);
await redis.quit();

const customers = await precomputedCustomers(REDIS, meta.version, CUSTOMERS);

const db = createPgDb(PG, { max: 2 });
const events = createEventRepository(db);
const deps: ServingDeps = {
  model: async () => model,
  store,
  catalog: createCatalogRepository(db),
  purchases: (userId) => events.loadPurchaseRows({ userId }),
  dbPopular: undefined as unknown as ServingDeps['dbPopular'],
};
// As a server does before it reports ready.
const t0 = performance.now();
await onRequestScorerOf(deps, model);
console.log(`\nrecommenders loaded in ${(performance.now() - t0).toFixed(0)} ms`);
// Each customer's users-table entry is read first (as their first visit would), so a timing below is the list's alone.
for (const id of customers) await recommendForUser(deps, id, { k: 10 });

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const lat = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(2)}  p99 ${quantile(xs, 0.99).toFixed(2)}  max ${Math.max(...xs).toFixed(2)} ms`;
console.log(`\n${customers.length} precomputed customers, k=10, one request at a time`);
const allFirst: number[] = [];
const allAgain: number[] = [];
for (const strategy of singleStrategies(model.info.hybridSources)) {
  const first: number[] = [];
  const again: number[] = [];
  let fallbacks = 0;
  for (const id of customers) {
    let t = performance.now();
    const answer = await recommendForUser(deps, id, { k: 10, strategy });
    first.push(performance.now() - t);
    if (answer.fallback) fallbacks++;
    t = performance.now();
    await recommendForUser(deps, id, { k: 5, strategy });
    again.push(performance.now() - t);
  }
  allFirst.push(...first);
  allAgain.push(...again);
  console.log(`${strategy.padEnd(14)} first ${lat(first)} | again ${lat(again)}${fallbacks ? ` | ${fallbacks} fallbacks` : ''}`);
}
console.log(`${'all'.padEnd(14)} first ${lat(allFirst)} | again ${lat(allAgain)}`);
await db.close?.();
await store.close?.();
process.exit(0);
