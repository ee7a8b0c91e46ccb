import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { createDbPopularity, type DbPopularityQuery } from '../../../src/serving/db-popularity.js';
import { createPgliteTestDb, type TestDb } from '../../helpers/services.js';
import { shopData } from './shop-fixture.js';

/** The real database, with the statements that count buyers (scans of purchase_events) counted. */
function countingScans(db: Db): { db: Db; scans: () => number } {
  let scans = 0;
  const counted: Db = {
    ...db,
    query: (sql, params) => {
      if (sql.includes('count(DISTINCT e.user_id)')) scans++;
      return db.query(sql, params);
    },
  };
  return { db: counted, scans: () => scans };
}

describe('popularity from the database', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPgliteTestDb();
    const { items, users, purchases } = shopData();
    await createCatalogRepository(t.db).upsertItems(items);
    await createCatalogRepository(t.db).upsertUsers(users);
    await createEventRepository(t.db).insertPurchases(purchases);
  });
  afterAll(() => t.dispose());

  it('When the same windowed question is asked again, Then the buyers are counted once and the answers agree', async () => {
    const { db, scans } = countingScans(t.db);
    const popularity = createDbPopularity(db);
    const q: DbPopularityQuery = { k: 5, windowDays: 30, attribute: { name: 'country', value: 'FR' } };
    const first = await popularity.recommend(q, { fallback: false });
    const counted = scans();
    const again = await Promise.all([1, 2, 3].map(() => popularity.recommend(q, { fallback: false })));
    expect(scans()).toBe(counted);
    for (const a of again) expect(a.items).toEqual(first.items);
    expect(first.items.every((i) => i.itemId.startsWith('k'))).toBe(true);
  });

  it('When a question excludes items or a user\'s purchases, Then the kept lists give what Postgres would', async () => {
    const popularity = createDbPopularity(t.db);
    const questions: DbPopularityQuery[] = [
      { k: 3, attribute: { name: 'country', value: 'UK' }, excludeBoughtBy: 'g-user0' },
      { k: 30 },
      { k: 8, windowDays: 20, exclude: ['g1', 'k2'], category: 'garden' },
      { k: 4, minPrice: 10, maxPrice: 40, excludeBoughtBy: 'k-user3', attribute: { name: 'country', value: 'FR' } },
    ];
    for (const q of questions) {
      const kept = await popularity.recommend(q, { fallback: false });
      const direct = await popularity.uncached(q, { fallback: false });
      expect(kept.items, JSON.stringify(q)).toEqual(direct.items);
    }
  });
});
