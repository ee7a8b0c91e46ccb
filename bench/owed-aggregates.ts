/**
 * What leaving the customers whose erasure is owed out of the aggregates adds to a request (README "Erasure"), at ten
 * times our data (420,000 customers):
 * - `GET /v1/segments` (profile-service report): a synthetic profiles artifact of 420,000 customers in the in-process
 *   store; calls with none owed, the first call after the owed list changed (the report made again from the columns),
 *   and the calls after it (kept while the list does not move);
 * - `GET /v1/segments/lifecycle-history` (lifecycle-history.ts): 420,000 customers' synthetic purchase days, kept;
 * - `GET /v1/overview` (service-overview.ts), when DATABASE_URL names a database the service migrated (e.g. one
 *   filled with `--fill`, which writes 420,000 customers, 2,100,000 purchases and 1,050,000 orders into it): one count
 *   of the store, then calls with none owed, the first call after the list changed (the owed customers' rows read)
 *   and the calls after it;
 * - with DATABASE_URL too: the read of the first and latest purchase without the owed customers (an evaluation's
 *   period check, a validation split's and tune's returns window: event-repository purchaseRange(without)), the owed
 *   spread over the customers and, the worst case, the buyers of the latest purchases; and the read of the owed ids.
 * - `--gauges`: the segments report also with the segment gauges set from it (recsvc_profiles_segment_users).
 *
 *   npx tsx bench/owed-aggregates.ts [--owed 1,100,10000] [--calls 20] [--customers 420000]
 *   DATABASE_URL=postgres://.../a_db npx tsx bench/owed-aggregates.ts [--fill]
 */
import { loadavg } from 'node:os';
import { createCustomerRepository } from '../src/data/customer-repository.js';
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { createOwedErasures } from '../src/privacy/owed-erasures.js';
import { createLifecycleHistory } from '../src/profiles/lifecycle-history.js';
import type { CustomerProfile } from '../src/profiles/profile.js';
import { encodeProfiles } from '../src/profiles/profile-codec.js';
import { PROFILES_ARTIFACT } from '../src/profiles/profiles-artifact.js';
import { createProfileService } from '../src/profiles/profile-service.js';
import { segmentProfiles } from '../src/profiles/segments.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { createServiceOverview } from '../src/training/service-overview.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { createErasureRepository } from '../src/data/erasure-repository.js';
import { createMetrics } from '../src/metrics.js';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const owedSizes = (opt('--owed') ?? '1,100,10000').split(',').map(Number);
const calls = Number(opt('--calls') ?? 20);
const CUSTOMERS = Number(opt('--customers') ?? 420_000);
const id = (k: number) => `c${k}`;

const ms = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (x: number) => x.toFixed(3);
/** Calls with the list as it is (none owed, or after the first call since it changed): median and max. */
const repeated = async (fn: () => Promise<unknown>) => {
  const xs: number[] = [];
  for (let i = 0; i < calls; i++) xs.push(await ms(fn));
  return `median ${f(median(xs))} ms, max ${f(Math.max(...xs))} ms`;
};
/** The owed list holding `n` customers of the store (spread over it), learned as a follower's read would put it. */
const owing = async (owed: ReturnType<typeof createOwedErasures>, n: number) => {
  const ids = Array.from({ length: n }, (_, i) => id(Math.floor((i * CUSTOMERS) / n)));
  await owed.refresh(async () => ids);
};
const cpu = (fn: () => Promise<unknown>) => async () => {
  const c0 = process.cpuUsage();
  const wall = await ms(fn);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
};

console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// The segments report.
{
  const now = Date.UTC(2026, 11, 1);
  const profiles: CustomerProfile[] = [];
  for (let k = 0; k < CUSTOMERS; k++) {
    const frequency = 1 + (k % 7);
    profiles.push({
      userId: id(k), recencyDays: k % 365, tenureDays: 365 + (k % 300), frequency, monetary: Math.round((10 + ((k * 7919) % 5000)) * 100) / 100,
      rScore: 1 + (k % 5), fScore: 1 + ((k >> 3) % 5), mScore: 1 + ((k >> 5) % 5), avgBasketSize: 2, avgBasketLines: 2, avgBasketValue: 20,
      priceSensitivity: 1, meanIntervalDays: frequency > 1 ? 30 : null, firstOrder: new Date(now - 400 * 86_400_000).toISOString(),
      lastOrder: new Date(now - (k % 365) * 86_400_000).toISOString(), topTerms: [], topCategories: [],
    });
  }
  const store = await createMemoryModelStore({});
  await store.putArtifact('v1', PROFILES_ARTIFACT, encodeProfiles(segmentProfiles(profiles), { now }));
  await store.publish({ version: 'v1', recipe: 'bench', trainedAt: new Date(now).toISOString(), info: {} });
  const owed = createOwedErasures();
  const service = createProfileService({
    store, owed,
    events: { loadPurchaseRows: async () => [], purchaseRange: async () => ({ first: null, last: null }) } as never,
    catalog: { getItems: async () => [] } as never,
  });
  const first = await ms(() => service.report());
  console.log(`\nGET /v1/segments, ${CUSTOMERS} customers: first call (decodes the version) ${first.toFixed(0)} ms`);
  console.log(`  none owed: ${await repeated(() => service.report())}`);
  for (const n of owedSizes) {
    await owing(owed, n);
    const once = await cpu(() => service.report())();
    console.log(`  ${n} owed: first call after the list changed ${f(once.wall)} ms (cpu ${f(once.cpu)} ms); then ${await repeated(() => service.report())}`);
    // The follower's read every ERASURE_REFRESH_MS moves the revision with the same ids: the ids are looked up again.
    await owing(owed, n);
    const again = await ms(() => service.report());
    console.log(`    after a read that found the same ids: ${f(again)} ms`);
  }
  await owing(owed, 0);
  if (args.includes('--gauges')) {
    // The same calls with the segment gauges set from the report as answered (a reference compared per call; the
    // gauges reset and set again when the report changed).
    const metrics = createMetrics();
    const gauged = createProfileService({
      store, owed, metrics,
      events: { loadPurchaseRows: async () => [], purchaseRange: async () => ({ first: null, last: null }) } as never,
      catalog: { getItems: async () => [] } as never,
    });
    const firstGauged = await ms(() => gauged.report());
    console.log(`\nGET /v1/segments with the gauges set from it: first call (decodes the version) ${firstGauged.toFixed(0)} ms`);
    console.log(`  none owed: ${await repeated(() => gauged.report())}`);
    for (const n of owedSizes) {
      await owing(owed, n);
      const once = await cpu(() => gauged.report())();
      console.log(`  ${n} owed: first call after the list changed ${f(once.wall)} ms (cpu ${f(once.cpu)} ms); then ${await repeated(() => gauged.report())}`);
    }
    const erasing = await ms(async () => gauged.forgetUser(id(3)));
    console.log(`  an erasure with ${owed.size} owed (forgetUser: the report made again, gauges left to the next scrape): ${f(erasing)} ms`);
    await owing(owed, 0);
    const erasingNone = await ms(async () => gauged.forgetUser(id(5)));
    console.log(`  an erasure with none owed (forgetUser, gauges set from the report): ${f(erasingNone)} ms`);
    const scrape = await ms(() => metrics.registry.metrics());
    console.log(`  a scrape's text of the registry: ${f(scrape)} ms`);
  }
}

// The lifecycle history.
{
  const days = new Map<string, number[]>();
  for (let k = 0; k < CUSTOMERS; k++) {
    const first = 19_000 + (k % 300);
    days.set(id(k), Array.from({ length: 1 + (k % 5) }, (_, i) => first + i * 40));
  }
  const owed = createOwedErasures();
  const history = createLifecycleHistory({ purchaseDays: async () => days, owed });
  await history(12);
  console.log(`\nGET /v1/segments/lifecycle-history?months=12, ${CUSTOMERS} customers (days kept):`);
  console.log(`  none owed: ${await repeated(() => history(12))}`);
  for (const n of owedSizes) {
    await owing(owed, n);
    console.log(`  ${n} owed: ${await repeated(() => history(12))}`);
  }
}

// The overview's counts.
const url = process.env.DATABASE_URL;
if (url) {
  const db = createPgDb(url);
  try {
    if (args.includes('--fill')) {
      await migrate(db);
      const t0 = performance.now();
      // 420,000 customers, 5 purchases each in 2-3 orders, 60,000 items, over two years.
      await db.query(`INSERT INTO items (id, title) SELECT 'i' || n, 'item ' || n FROM generate_series(0, 59999) n ON CONFLICT DO NOTHING`);
      await db.query(`INSERT INTO users (id) SELECT 'c' || n FROM generate_series(0, ${CUSTOMERS - 1}) n ON CONFLICT DO NOTHING`);
      await db.query(
        `INSERT INTO purchase_events (event_id, user_id, item_id, quantity, price, order_id, ts)
         SELECT 'e' || n || '-' || l, 'c' || n, 'i' || ((n * 7 + l * 13) % 60000), 1, 2.5, 'o' || n || '-' || (l % 2 + (n % 3) * (l / 4)),
                timestamptz '2024-12-01' + ((n * 37 + l * 11) % 730) * interval '1 day'
         FROM generate_series(0, ${CUSTOMERS - 1}) n, generate_series(0, 4) l ON CONFLICT DO NOTHING`,
      );
      await db.query('ANALYZE');
      console.log(`\nfilled in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const customers = createCustomerRepository(db);
    const owed = createOwedErasures();
    const overview = createServiceOverview({ customers, owed, store: await createMemoryModelStore({}), served: async () => null, countsMaxAgeMs: 3_600_000 });
    const counted = await ms(() => overview());
    const { counts } = await overview();
    console.log(`\nGET /v1/overview on ${counts.customers} customers, ${counts.purchases} purchases, ${counts.orders} orders: first call (one count) ${counted.toFixed(0)} ms`);
    console.log(`  none owed: ${await repeated(() => overview())}`);
    for (const n of owedSizes) {
      await owing(owed, n);
      const once = await ms(() => overview());
      const taken = (await overview()).counts;
      console.log(`  ${n} owed: first call after the list changed ${f(once)} ms (customers ${taken.customers}, purchases ${taken.purchases}); then ${await repeated(() => overview())}`);
    }
    // A count made while they are owed reads what they add beside it (in the background of calls after the first).
    const recount = createServiceOverview({ customers, owed, store: await createMemoryModelStore({}), served: async () => null, countsMaxAgeMs: 3_600_000 });
    const withOwed = await ms(() => recount());
    console.log(`  a count made with ${owed.size} owed (the first call waits for it): ${withOwed.toFixed(0)} ms; then ${await repeated(() => recount())}`);
    owed.add(id(1));
    console.log(`  one more owed since that count: first call ${f(await ms(() => recount()))} ms`);

    // The first and latest purchase without the owed customers (event-repository purchaseRange(without)).
    const events = createEventRepository(db);
    console.log(`\npurchaseRange (first and latest purchase), ${counts.purchases} purchases:`);
    console.log(`  none owed (the statement as before): ${await repeated(() => events.purchaseRange())}`);
    const { rows: latestBuyers } = await db.query<{ user_id: string }>(
      `SELECT user_id FROM (SELECT user_id, max(ts) AS ts FROM purchase_events WHERE ts >= (SELECT max(ts) FROM purchase_events) - interval '30 days' GROUP BY user_id) b ORDER BY ts DESC, user_id LIMIT ${Math.max(...owedSizes)}`,
    );
    for (const n of owedSizes) {
      const spread = Array.from({ length: n }, (_, i) => id(Math.floor((i * CUSTOMERS) / n)));
      const latest = latestBuyers.slice(0, n).map((r) => r.user_id);
      console.log(`  ${n} owed, spread: ${await repeated(() => events.purchaseRange(spread))}`);
      console.log(`  ${n} owed, the latest buyers (the latest purchases theirs): ${await repeated(() => events.purchaseRange(latest))}`);
    }
    // The read of the owed ids an evaluation and tune make first (erasure_requests), at the largest size.
    const n = Math.max(...owedSizes);
    await db.query(`INSERT INTO erasure_requests (user_id) SELECT 'c' || g FROM generate_series(0, ${n - 1}) g ON CONFLICT DO NOTHING`);
    try {
      const erasures = createErasureRepository(db);
      console.log(`  the owed ids read (erasure_requests, ${n} rows): ${await repeated(() => erasures.pendingRequests())}`);
    } finally {
      await db.query(`DELETE FROM erasure_requests WHERE user_id IN (SELECT 'c' || g FROM generate_series(0, ${n - 1}) g)`);
    }
  } finally {
    await db.close();
  }
}
console.log(`\nload after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
