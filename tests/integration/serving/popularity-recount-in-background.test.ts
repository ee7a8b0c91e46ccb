/**
 * Popularity counted by Postgres (`GET /v1/popular?windowDays=N`) is kept a minute per question. A kept list past
 * its minute answers at once while the question is counted again in the background (one count at a time, shared),
 * up to a bound (`staleMs`) after which an answer waits for the count as a question's first ask does; in an outage
 * the kept lists answer, marked `fallback: true`, as before. Before, the first ask after each minute waited for the
 * count: 1.5-2.7 s at ten times Online Retail (bench/README "Windowed popularity at ten times our data").
 *
 * That an answer does not wait for its count is shown by holding the count: another session locks item_buyers,
 * which the count reads, and the answer comes while the count is seen waiting for that lock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { createEventRepository, type PurchaseInput } from '../../../src/data/event-repository.js';
import { createDbPopularity, type DbPopularityQuery } from '../../../src/serving/db-popularity.js';
import { lockAwaited, lockHeld, lockWaiters } from '../../helpers/lock-waits.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q: DbPopularityQuery = { k: 3, windowDays: 30 };

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('windowed popularity counted again in the background', () => {
  let t: TestDb;
  let schema: string;
  let locker: Db;
  /** Statements that count buyers, as the popularity under test makes them. */
  let counts = 0;
  let down = false;
  /** The test database, its counting statements counted, refusing every statement while `down` (Postgres stopped). */
  let db: Db;
  let n = 0;

  /** Purchases of `item` by `buyers` new customers, dated inside every window (a day before the latest line). */
  const bought = (item: string, buyers: number): PurchaseInput[] =>
    Array.from({ length: buyers }, () => {
      n++;
      return { userId: `buyer-${n}`, itemId: item, quantity: 1, price: 2, orderId: `order-${n}`, ts: new Date(T0 + 99 * DAY) };
    });
  const ids = (r: { items: { itemId: string }[] }) => r.items.map((i) => i.itemId);

  beforeAll(async () => {
    t = await createPostgresTestDb();
    schema = (await t.db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0].s;
    locker = createPgDb(POSTGRES_URL, { max: 1, schema });
    db = {
      ...t.db,
      query: (sql, params) => {
        if (down) return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
        if (sql.includes('FROM item_buyers b')) counts++;
        return t.db.query(sql, params);
      },
    };
  });
  afterAll(async () => {
    await locker?.close();
    await t?.dispose();
  });

  // Each case its own shop: a, b and c on sale, a bought by four customers, b by two, c by none; the latest
  // purchase (of a, which dates the window) a day after the others.
  beforeEach(async () => {
    await t.db.exec('TRUNCATE purchase_events CASCADE');
    await t.db.exec('TRUNCATE users, items CASCADE');
    await createCatalogRepository(t.db).upsertItems(['a', 'b', 'c'].map((id) => ({ id, title: `item ${id}`, categories: ['mugs'], price: 2 })));
    await createEventRepository(t.db).insertPurchases([
      ...bought('a', 3),
      ...bought('b', 2),
      { userId: 'latest', itemId: 'a', quantity: 1, price: 2, orderId: 'latest', ts: new Date(T0 + 100 * DAY) },
    ]);
    counts = 0;
    down = false;
  });

  /** Takes `table` from every other session until the returned function is called. */
  const hold = (table: string) => lockHeld(locker, `LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  /** Takes item_buyers from every other session (the counts read it) until the returned function is called. */
  const holdItemBuyers = () => hold('item_buyers');

  it('When a kept list is past its minute, Then the next asks answer from it at once while one count runs, and the asks after that count get the new counts', async () => {
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 600_000, catalogRefreshMs: 0 });
    const first = await popularity.recommend(q, { fallback: false });
    expect(ids(first)).toEqual(['a', 'b', 'c']);
    expect(counts).toBe(1);
    // c is now the most bought, and its minute passes.
    await createEventRepository(t.db).insertPurchases(bought('c', 5));
    await sleep(100);

    const unlock = await holdItemBuyers();
    let meanwhile;
    let countWaited;
    try {
      // Answered although the count it starts cannot read item_buyers (before: it waited for that count, past the lock).
      meanwhile = [await popularity.recommend(q, { fallback: false })];
      // The count was begun, and is held by the lock: the answer above did not come from it.
      countWaited = await lockAwaited(t.db, schema, 'item_buyers');
      // Another ask meanwhile is answered from the kept list too, and shares the running count.
      meanwhile.push(await popularity.recommend(q, { fallback: false }));
    } finally {
      await unlock();
    }
    expect(countWaited).toBe(true);
    for (const answer of meanwhile) expect(answer).toMatchObject({ items: first.items, fallback: false });
    expect(counts).toBe(2);

    await popularity.settled();
    const after = await popularity.recommend(q, { fallback: false });
    expect(ids(after)).toEqual(['c', 'a', 'b']);
    expect(after).toMatchObject({ items: (await popularity.uncached(q, { fallback: false })).items, fallback: false });
  }, 60_000);

  // Begun together (the lists of every question a page asks pass their minute together), the counts took the pool's
  // connections, and the answers waited for their items' catalog state behind them (bench/README).
  it('When the kept lists of two questions pass their minute together, Then their counts in the background run one after the other', async () => {
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 600_000, catalogRefreshMs: 0 });
    const other: DbPopularityQuery = { ...q, windowDays: 20 };
    await popularity.recommend(q, { fallback: false });
    await popularity.recommend(other, { fallback: false });
    await sleep(100);
    const unlock = await holdItemBuyers();
    const waiters: number[] = [];
    try {
      await popularity.recommend(q, { fallback: false });
      await popularity.recommend(other, { fallback: false });
      expect(await lockAwaited(t.db, schema, 'item_buyers')).toBe(true);
      // The second count does not begin while the first is held: never two waiting (a second would be there in
      // milliseconds; two seconds of looking).
      for (let n = 0; n < 40; n++) {
        waiters.push(await lockWaiters(t.db, schema, 'item_buyers'));
        await sleep(50);
      }
    } finally {
      await unlock();
    }
    expect(Math.max(...waiters)).toBe(1);
    await popularity.settled();
    expect(counts).toBe(4);
  }, 60_000);

  it('When a kept list is too old to answer and its count is queued behind a held one, Then that count begins at once and answers', async () => {
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 5000, catalogRefreshMs: 0 });
    // Its count reads the customers (their country), which the lock below holds; everyone's reads none.
    const french: DbPopularityQuery = { ...q, attribute: { name: 'country', value: 'FR' } };
    await popularity.recommend(french, { fallback: false });
    await popularity.recommend(q, { fallback: false });
    await createEventRepository(t.db).insertPurchases(bought('c', 5));
    await sleep(100);
    const unlock = await hold('users');
    try {
      await popularity.recommend(french, { fallback: false });
      expect(await lockAwaited(t.db, schema, 'users')).toBe(true);
      // Within the bound: the kept list, its count queued behind the held one.
      expect(ids(await popularity.recommend(q, { fallback: false }))).toEqual(['a', 'b', 'c']);
      await sleep(5100);
      // Past the bound: counted now (before, it waited for the held count ahead of it, until the test's timeout).
      expect(ids(await popularity.recommend(q, { fallback: false }))).toEqual(['c', 'a', 'b']);
    } finally {
      await unlock();
    }
  }, 60_000);

  // Questions come from query strings (a storefront's filters, or anyone's): a question the cache let go must not keep
  // a count queued, or many of them would hold the counts of the questions still asked behind theirs.
  it('When a question whose count is queued leaves the kept questions, Then its count does not run', async () => {
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 600_000, catalogRefreshMs: 0, maxQuestions: 2 });
    const french: DbPopularityQuery = { ...q, attribute: { name: 'country', value: 'FR' } };
    // q kept first, so it is the one let go when a third question comes.
    await popularity.recommend(q, { fallback: false });
    await popularity.recommend(french, { fallback: false });
    expect(counts).toBe(2);
    await sleep(100);
    const unlock = await hold('users');
    try {
      // French's count begins and is held (it reads the customers); q's is queued behind it.
      await popularity.recommend(french, { fallback: false });
      expect(await lockAwaited(t.db, schema, 'users')).toBe(true);
      await popularity.recommend(q, { fallback: false });
      // A third question (counted at once: it reads no customers) lets q go.
      await popularity.recommend({ ...q, windowDays: 20 }, { fallback: false });
    } finally {
      await unlock();
    }
    await popularity.settled();
    // French's count (one statement on item_buyers) and the third question's; none for q.
    expect(counts).toBe(4);
    // q was the one let go: its next ask counts it at once (c now the most bought), not from a kept list.
    await createEventRepository(t.db).insertPurchases(bought('c', 5));
    expect(ids(await popularity.recommend(q, { fallback: false }))).toEqual(['c', 'a', 'b']);
  }, 60_000);

  // A process stopping: the pool is closed after the app, and a count begun after that failed ('Cannot use a pool after
  // calling end on the pool'), each logged as a failed count (one line per question queued).
  it('When the process stops while a count is held and another queued, Then the queued one is not begun and nothing is logged', async () => {
    const logged: string[] = [];
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 600_000, catalogRefreshMs: 0, log: (msg) => logged.push(msg) });
    const other: DbPopularityQuery = { ...q, windowDays: 20 };
    await popularity.recommend(q, { fallback: false });
    await popularity.recommend(other, { fallback: false });
    await sleep(100);
    const unlock = await holdItemBuyers();
    try {
      await popularity.recommend(q, { fallback: false });
      await popularity.recommend(other, { fallback: false });
      expect(await lockAwaited(t.db, schema, 'item_buyers')).toBe(true);
      popularity.stop();
      // The pool closed (as the server closes it after the app): every statement from now on fails.
      down = true;
    } finally {
      await unlock();
    }
    await popularity.settled();
    down = false;
    // The held count ran to its end (its statement was under way); the queued one was not begun.
    expect(counts).toBe(3);
    expect(logged).toEqual([]);
  }, 60_000);

  it('When a kept list is older than its minute and the bound, Then the ask waits for the count and gets the new counts', async () => {
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 50, catalogRefreshMs: 0 });
    expect(ids(await popularity.recommend(q, { fallback: false }))).toEqual(['a', 'b', 'c']);
    await createEventRepository(t.db).insertPurchases(bought('c', 5));
    await sleep(200);
    expect(await popularity.recommend(q, { fallback: false })).toMatchObject({ items: [{ itemId: 'c' }, { itemId: 'a' }, { itemId: 'b' }], fallback: false });
    expect(counts).toBe(2);
  });

  it('When Postgres is down past a kept list\'s minute, Then the kept list answers marked fallback, within the bound and past it, and after Postgres is back the new counts answer', async () => {
    // The catalog state is not read again within this test (an hour): only the failed counts can mark the answers.
    const popularity = createDbPopularity(db, { ttlMs: 50, staleMs: 600_000, catalogRefreshMs: 3_600_000 });
    const first = await popularity.recommend(q, { fallback: false });
    await createEventRepository(t.db).insertPurchases(bought('c', 5));
    await sleep(100);
    down = true;
    try {
      // Within the bound: answered at once, and the count it began fails.
      expect(ids(await popularity.recommend(q, { fallback: false }))).toEqual(ids(first));
      await popularity.settled();
      // The kept list is past its minute and could not be counted again: said so.
      expect(await popularity.recommend(q, { fallback: false })).toMatchObject({ items: first.items, fallback: true });
      await popularity.settled();
    } finally {
      down = false;
    }
    // Back: the first ask still answers the kept list (its count runs), the asks after that count the new one.
    expect(await popularity.recommend(q, { fallback: false })).toMatchObject({ items: first.items, fallback: true });
    await popularity.settled();
    expect(await popularity.recommend(q, { fallback: false })).toMatchObject({ items: [{ itemId: 'c' }, { itemId: 'a' }, { itemId: 'b' }], fallback: false });

    // Past the bound in an outage: the ask waits for the count, which fails, and the kept list answers (as before).
    const bounded = createDbPopularity(db, { ttlMs: 50, staleMs: 50, catalogRefreshMs: 3_600_000 });
    const kept = await bounded.recommend(q, { fallback: false });
    await sleep(200);
    down = true;
    try {
      expect(await bounded.recommend(q, { fallback: false })).toMatchObject({ items: kept.items, fallback: true });
    } finally {
      down = false;
    }
  });
});
