/**
 * What a precomputed customer's single-strategy list (`?strategy=<source>`) is worth while Postgres is
 * down, in a version that scores those lists on request (the default): scored from what the version holds
 * of the customer's purchases (held-history.ts), against the list scored from their purchase rows once
 * Postgres is back, and against the popularity answer such a request got before. On a shop imported and
 * trained into DATABASE_URL and REDIS_URL (default key prefix); reads only.
 *
 *   DATABASE_URL=... REDIS_URL=... npx tsx bench/held-lists.ts [--customers 300] [--k 10]
 *
 * Each list is the answer a customer would get (GET /v1/users/:id/recommendations?strategy=...&k=K,
 * purchases excluded as by default), made in this process by the serving code itself.
 */
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { AppError } from '../src/errors.js';
import { onRequestScorerOf, recommendForUser } from '../src/serving/recommend-for-user.js';
import type { ServingDeps } from '../src/serving/serving-deps.js';
import { singleStrategies } from '../src/serving/serving-model-builder.js';
import { optionTaker } from './lib/online-retail.js';
import { openTrainedShop } from './lib/trained-shop.js';
import { precomputedCustomers } from './lib/precomputed-customers.js';

const option = optionTaker(process.argv.slice(2));
const CUSTOMERS = Number(option('--customers') ?? 300);
const K = Number(option('--k') ?? 10);
const { pg: PG, redis: REDIS, store, meta, model } = await openTrainedShop('held-lists');
if (model.info.strategyLists !== 'on-request') throw new Error(`version ${meta.version} stores its single-strategy lists: nothing to measure`);
const customers = await precomputedCustomers(REDIS, meta.version, CUSTOMERS);
console.log(`version ${meta.version}: ${model.items.ids.length} items; ${customers.length} precomputed customers, k=${K}`);

const db = createPgDb(PG, { max: 2 });
const events = createEventRepository(db);
const base: ServingDeps = { model: async () => model, store, catalog: createCatalogRepository(db), dbPopular: undefined as unknown as ServingDeps['dbPopular'] };
const pgDown = async () => {
  throw new AppError('DEPENDENCY_UNAVAILABLE', 'Postgres is down (bench)');
};
/** Postgres down: what the version holds (this change), or without a scorer to use it (popularity, as before). */
const during: ServingDeps = { ...base, catalog: { getUser: pgDown, getItem: pgDown, getItems: pgDown }, purchases: pgDown };
const before: ServingDeps = { ...during, purchases: undefined };
const up: ServingDeps = { ...base, purchases: (userId) => events.loadPurchaseRows({ userId }) };
await onRequestScorerOf(up, model);

const ids = (a: { items: { itemId: string }[] }) => a.items.map((i) => i.itemId);
const overlap = (a: string[], b: string[]) => (b.length === 0 ? 1 : a.filter((x) => b.includes(x)).length / b.length);
console.log(`\n${'strategy'.padEnd(14)} ${'held: overlap@K'.padStart(16)} ${'same list'.padStart(10)} ${'fallback'.padStart(9)} | ${'popularity: overlap@K'.padStart(22)}`);
for (const strategy of singleStrategies(model.info.hybridSources)) {
  let held = 0;
  let same = 0;
  let popular = 0;
  let flagged = 0;
  for (const id of customers) {
    const q = { k: K, strategy };
    // Neither Postgres-down answer is kept, so the list scored with Postgres up (and kept) comes last.
    const h = await recommendForUser(during, id, q);
    const p = await recommendForUser(before, id, q);
    const truth = ids(await recommendForUser(up, id, q));
    if (h.fallback) flagged++;
    held += overlap(ids(h), truth);
    popular += overlap(ids(p), truth);
    if (ids(h).join() === truth.join()) same++;
  }
  const n = customers.length;
  console.log(`${strategy.padEnd(14)} ${(held / n).toFixed(3).padStart(16)} ${(same / n).toFixed(3).padStart(10)} ${String(flagged).padStart(9)} | ${(popular / n).toFixed(3).padStart(22)}`);
}
await db.close?.();
await store.close?.();
process.exit(0);
