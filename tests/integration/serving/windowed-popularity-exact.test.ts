/**
 * Windowed popularity (GET /v1/popular?windowDays=N, and every popularity answer without a model) counts each
 * item's distinct buyers from item_buyers (migration 031), kept by triggers on purchase_events. Its answers are
 * compared here with the same ranking computed in the test from the purchase lines alone: through the backfill
 * of purchases stored before the migration, purchases added after it (repeat buyers, older lines, a newer
 * latest purchase that moves every window), erasures, a customer's rows removed by the users table's cascade,
 * and a return (a negative quantity), which is never stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository, type ItemInput, type UserInput } from '../../../src/data/catalog-repository.js';
import type { Db } from '../../../src/data/db.js';
import { createEventRepository, type PurchaseInput } from '../../../src/data/event-repository.js';
import { migrate } from '../../../src/data/migrate.js';
import { createDbPopularity, type DbPopularityQuery } from '../../../src/serving/db-popularity.js';
import { createPostgresTestDb, createUnmigratedPgliteDb, ONE_DB_BACKEND, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { insertItemsBeforeGroups } from '../../helpers/items-before-groups.js';

const DAY = 86_400_000;
// Every purchase is dated before the test runs: an erasure refuses what is dated before it.
const T0 = Date.UTC(2024, 0, 1);
const BEFORE_ITEM_BUYERS = '030_sample_untrained.sql';

/** A small deterministic generator (mulberry32), so a failure can be run again as it was. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shop() {
  const rand = random(31);
  const items: ItemInput[] = [];
  for (let n = 0; n < 24; n++) {
    items.push({
      id: `p${String(n).padStart(2, '0')}`,
      title: `product ${n}`,
      categories: [n % 3 === 0 ? 'pots' : n % 3 === 1 ? 'tools' : 'seeds'],
      price: 2 + ((n * 7) % 40),
      available: n % 11 !== 5,
    });
  }
  const countries = ['UK', 'UK', 'FR', 'DE'];
  const users: UserInput[] = Array.from({ length: 40 }, (_, j) => ({ id: `u${String(j).padStart(2, '0')}`, attributes: { country: countries[j % 4] } }));
  const purchases: PurchaseInput[] = [];
  for (let n = 0; n < 600; n++) {
    const user = users[Math.floor(rand() * rand() * users.length)].id;
    // Skewed towards the first items, so the counts differ and ties are few but present.
    const item = items[Math.floor(rand() * rand() * items.length)].id;
    const ts = new Date(T0 + Math.floor(rand() * 400 * DAY));
    purchases.push({ userId: user, itemId: item, quantity: 1 + Math.floor(rand() * 3), price: null, orderId: `o${n}`, ts });
  }
  return { items, users, purchases };
}

/** What the test holds true of the shop: the purchase lines stored, the customers' attributes, the catalog. */
interface Truth {
  purchases: PurchaseInput[];
  countries: Map<string, string>;
  items: ItemInput[];
}

/**
 * The answer computed from the purchase lines alone: per item, the distinct customers with a line at or after
 * (latest line - windowDays); the attribute value's own ranking first when that many of its customers bought in
 * the window, then everyone's, then the items nobody bought, by id; each run of scores relative to its head,
 * below the run before (99% of its last score).
 */
function expected(t: Truth, q: DbPopularityQuery, least: number): { itemId: string; score: number }[] {
  const latest = Math.max(...t.purchases.map((p) => p.ts.getTime()));
  const inWindow = t.purchases.filter((p) => q.windowDays === undefined || p.ts.getTime() >= latest - q.windowDays * DAY);
  const valid = (i: ItemInput) =>
    i.available !== false &&
    (q.category === undefined || (i.categories ?? []).includes(q.category)) &&
    (q.minPrice === undefined || (i.price ?? -1) >= q.minPrice) &&
    (q.maxPrice === undefined || (i.price ?? Infinity) <= q.maxPrice);
  const ranking = (lines: PurchaseInput[]) => {
    const buyers = new Map<string, Set<string>>();
    for (const p of lines) (buyers.get(p.itemId) ?? buyers.set(p.itemId, new Set()).get(p.itemId)!).add(p.userId);
    return t.items
      .filter((i) => valid(i) && buyers.has(i.id))
      .map((i) => ({ id: i.id, n: buyers.get(i.id)!.size }))
      .sort((a, b) => b.n - a.n || (a.id < b.id ? -1 : 1));
  };
  const out: { itemId: string; score: number }[] = [];
  const run = (rows: { id: string; n: number }[]) => {
    const ceiling = out.length === 0 ? 1 : out[out.length - 1].score * 0.99;
    // Relative to the run's first item shown (an item of an earlier run is not shown twice).
    const fresh = rows.filter((r) => !out.some((o) => o.itemId === r.id));
    const first = fresh[0]?.n ?? 0;
    for (const r of fresh) {
      if (out.length === q.k) break;
      out.push({ itemId: r.id, score: first > 0 ? Math.round(((ceiling * r.n) / first) * 1e6) / 1e6 : 0 });
    }
  };
  if (q.attribute) {
    const theirs = inWindow.filter((p) => t.countries.get(p.userId) === q.attribute!.value);
    if (new Set(theirs.map((p) => p.userId)).size >= least) run(ranking(theirs));
  }
  run(ranking(inWindow));
  run(
    t.items
      .filter(valid)
      .map((i) => ({ id: i.id, n: 0 }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
  );
  return out;
}

const QUESTIONS: DbPopularityQuery[] = [];
for (const windowDays of [undefined, 1, 7, 30, 90, 365])
  for (const attribute of [undefined, { name: 'country', value: 'FR' }, { name: 'country', value: 'UK' }])
    for (const filter of [{}, { category: 'pots' }, { minPrice: 5, maxPrice: 25 }]) QUESTIONS.push({ k: 30, windowDays, attribute, ...filter });

/** Every question, through the kept lists (a fresh cache: nothing counted before) and straight from Postgres. */
async function expectExact(db: Db, t: Truth, when: string) {
  const popularity = createDbPopularity(db);
  for (const q of QUESTIONS) {
    // The least number of buyers an attribute value needs matters only with an attribute (8: some values held back).
    for (const least of q.attribute ? [2, 8] : [2]) {
      const want = expected(t, q, least);
      const kept = await popularity.recommend(q, { fallback: false, minAttributeBuyers: least });
      const direct = await popularity.uncached(q, { fallback: false, minAttributeBuyers: least });
      const label = JSON.stringify({ when, q, least });
      expect(kept.items.map((i) => ({ itemId: i.itemId, score: i.score })), label).toEqual(want);
      expect(direct.items.map((i) => ({ itemId: i.itemId, score: i.score })), label).toEqual(want);
    }
  }
}

/**
 * One backend (ONE_DB_BACKEND: Postgres where it answers): the triggers, the backfill and the popularity queries are the
 * same SQL on PGlite, whose migration 031 the migration tests and every PGlite test database apply, and the writers at
 * once below only contend on Postgres (PGlite runs one transaction at a time). The PGlite run was 23 s of the suite.
 */
const backends = [
  {
    name: 'postgres',
    available: () => serviceAvailable(POSTGRES_URL),
    create: (): Promise<{ db: Db; dispose: () => Promise<void> }> => createPostgresTestDb({ migrated: false }),
  },
  {
    name: 'pglite',
    available: async () => true,
    create: createUnmigratedPgliteDb,
  },
].filter((b) => b.name === ONE_DB_BACKEND[0].name);

for (const backend of backends) {
  describe.skipIf(!(await backend.available()))(`windowed popularity from item_buyers (${backend.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    const data = shop();
    const truth: Truth = { purchases: [], countries: new Map(data.users.map((u) => [u.id, String(u.attributes!.country)])), items: data.items };
    const events = () => createEventRepository(db);

    beforeAll(async () => {
      ({ db, dispose } = await backend.create());
      // The purchases of a shop that ran before migration 031: its backfill counts them.
      await migrate(db, { to: BEFORE_ITEM_BUYERS });
      await insertItemsBeforeGroups(db, data.items);
      await createCatalogRepository(db).upsertUsers(data.users);
      await events().insertPurchases(data.purchases.slice(0, 450));
      truth.purchases.push(...data.purchases.slice(0, 450));
      await migrate(db);
    }, 240_000);
    afterAll(() => dispose?.());

    it('When purchases were stored before the table existed, Then every window, attribute and filter ranks as the purchase lines say', async () => {
      await expectExact(db, truth, 'backfilled');
    }, 60_000);

    it('When purchases are added after (repeat buyers, older lines, a new latest purchase), Then the answers follow at once', async () => {
      await events().insertPurchases(data.purchases.slice(450));
      truth.purchases.push(...data.purchases.slice(450));
      const latest = Math.max(...truth.purchases.map((p) => p.ts.getTime()));
      const more: PurchaseInput[] = [
        // A customer buying again what they bought: still one buyer, now inside the short windows.
        { userId: 'u01', itemId: 'p00', quantity: 1, price: null, orderId: 'late-1', ts: new Date(latest - 2 * DAY) },
        // An old line of a pair already counted: its latest purchase stays the later one.
        { userId: 'u01', itemId: 'p00', quantity: 1, price: null, orderId: 'old-1', ts: new Date(T0 - 30 * DAY) },
        // A new latest purchase: every window ends here now.
        { userId: 'u39', itemId: 'p23', quantity: 2, price: null, orderId: 'late-2', ts: new Date(latest + 5 * DAY) },
        // A customer and an item the shop never had.
        { userId: 'u-new', itemId: 'p-new', quantity: 1, price: null, orderId: 'late-3', ts: new Date(latest + 4 * DAY) },
      ];
      await events().insertPurchases(more);
      truth.purchases.push(...more);
      truth.items = [...truth.items, { id: 'p-new', title: '', categories: [] }];
      // Several writers at once, in separate transactions, on the same pairs.
      const burst: PurchaseInput[][] = [0, 1, 2].map((w) =>
        ['u02', 'u03', 'u04'].map((u, n) => ({ userId: u, itemId: `p0${n + w}`, quantity: 1, price: null, orderId: `burst-${w}-${u}`, ts: new Date(latest + (w + n) * 3_600_000) })),
      );
      await Promise.all(burst.map((b) => events().insertPurchases(b)));
      truth.purchases.push(...burst.flat());
      await expectExact(db, truth, 'added');
    }, 60_000);

    it('When customers are erased, or their rows go with their users row, Then their purchases count no more, and a purchase sent after the erasure is not counted', async () => {
      // The two heaviest buyers, so the rankings change.
      const byUser = new Map<string, number>();
      for (const p of truth.purchases) byUser.set(p.userId, (byUser.get(p.userId) ?? 0) + 1);
      const heaviest = [...byUser.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([u]) => u);
      const [erased1, erased2, cascaded] = heaviest;
      await events().deleteUsers([erased1, erased2]);
      truth.purchases = truth.purchases.filter((p) => p.userId !== erased1 && p.userId !== erased2);
      const replay = await events().insertPurchases([{ userId: erased1, itemId: 'p05', quantity: 1, price: null, orderId: 'after-erasure', ts: new Date(T0 + 399 * DAY) }]);
      expect(replay.inserted).toBe(0);
      await expectExact(db, truth, 'erased');
      await db.query('DELETE FROM users WHERE id = $1', [cascaded]);
      truth.purchases = truth.purchases.filter((p) => p.userId !== cascaded);
      await expectExact(db, truth, 'cascaded');
    }, 60_000);

    it('When a return (a negative quantity) is sent, Then nothing is stored and the counts stay as the purchase lines say', async () => {
      await expect(events().insertPurchases([{ userId: 'u05', itemId: 'p07', quantity: -2, price: null, orderId: 'return-1', ts: new Date(T0 + 10 * DAY) }])).rejects.toThrow();
      await expectExact(db, truth, 'after a return');
    }, 60_000);
  });
}
