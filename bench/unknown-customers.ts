/**
 * What a customer the active version has no entry for and who has bought nothing (a new account, say)
 * costs per request: the version's cold start, after its Postgres reads. On a shop imported and trained
 * into DATABASE_URL and REDIS_URL (default key prefix); reads only.
 *
 *   DATABASE_URL=... REDIS_URL=... npx tsx bench/unknown-customers.ts [--customers 500] [--asks 5]
 *
 * In this process, as a server holds the version (recommenders loaded first): `customers` ids that have
 * no purchase, each asked `asks` times in a row for their top 10, one request at a time. Prints the
 * latency of the first ask and of the later ones, and the Postgres reads per request.
 */
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { onRequestScorerOf, recommendForUser } from '../src/serving/recommend-for-user.js';
import type { ServingDeps } from '../src/serving/serving-deps.js';
import { optionTaker } from './lib/online-retail.js';
import { openTrainedShop } from './lib/trained-shop.js';

const option = optionTaker(process.argv.slice(2));
const CUSTOMERS = Number(option('--customers') ?? 500);
const ASKS = Number(option('--asks') ?? 5);
const { pg: PG, store, meta, model } = await openTrainedShop('unknown-customers');

const db = createPgDb(PG, { max: 2 });
const events = createEventRepository(db);
const catalog = createCatalogRepository(db);
let reads = 0;
const deps: ServingDeps = {
  model: async () => model,
  store,
  catalog: { getUser: (id) => (reads++, catalog.getUser(id)), getItem: (id) => catalog.getItem(id), getItems: (ids) => catalog.getItems(ids) },
  purchases: (userId) => (reads++, events.loadPurchaseRows({ userId })),
  dbPopular: undefined as unknown as ServingDeps['dbPopular'],
};
await onRequestScorerOf(deps, model);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const lat = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(2)}  p99 ${quantile(xs, 0.99).toFixed(2)} ms`;
const first: number[] = [];
const later: number[] = [];
let firstReads = 0;
let laterReads = 0;
for (let c = 0; c < CUSTOMERS; c++) {
  const id = `bench-new-customer-${c}`;
  for (let a = 0; a < ASKS; a++) {
    const before = reads;
    const t = performance.now();
    const answer = await recommendForUser(deps, id, { k: 10 });
    (a === 0 ? first : later).push(performance.now() - t);
    if (a === 0) firstReads += reads - before;
    else laterReads += reads - before;
    if (!answer.fallback) throw new Error(`${id}: expected a cold start`);
  }
}
console.log(`version ${meta.version}: ${CUSTOMERS} customers without purchases, ${ASKS} asks each in a row`);
console.log(`first ask   ${lat(first)}, Postgres reads per request ${(firstReads / first.length).toFixed(2)}`);
console.log(`later asks  ${lat(later)}, Postgres reads per request ${(laterReads / later.length).toFixed(2)}`);
process.exit(0);
