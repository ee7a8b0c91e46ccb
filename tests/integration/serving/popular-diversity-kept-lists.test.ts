import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from './shop-fixture.js';

// With diversity, GET /v1/popular?windowDays takes a pool from the kept Postgres lists (3k, up to 300). The
// lists keep 300 rows, "k (at most 100) plus room for what a request excludes": a pool as deep as them sent
// every request excluding an item to Postgres on its own (a scan of the purchases, seconds at ten times our
// data), however often the same question was asked.
let scans = 0;
const counting = async () => {
  const t = await createPostgresTestDb();
  const db: Db = {
    ...t.db,
    query: (sql, params) => {
      if (sql.includes('FROM item_buyers b')) scans++;
      return t.db.query(sql, params);
    },
  };
  return { ...t, db };
};

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('diversity on the Postgres-window popular list', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: counting });
    await seedShop(t.services);
    await trainAndPublish(t.services);
    // A catalogue of more than 300 products bought in the window (Online Retail has ~4,000).
    const n = 340;
    await t.services.catalog.upsertItems(Array.from({ length: n }, (_, i) => ({ id: `x${i}`, title: `extra ${i}`, categories: ['extra'], price: 3 })));
    await t.services.events.insertPurchases(
      Array.from({ length: n }, (_, i) => ({ userId: `x-user${i % 50}`, itemId: `x${i}`, quantity: 1, price: null, orderId: `xo${i}`, ts: new Date(T0 + 50 * DAY) })),
    );
  }, 60_000);
  afterAll(() => t.dispose());

  const get = async (url: string) => {
    const res = await t.app.inject({ url, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: { itemId: string }[] };
  };

  it.each([
    '/v1/popular?k=100&windowDays=3650&exclude=x0',
    '/v1/popular?k=100&windowDays=3650&diversity=0.5&exclude=x0',
  ])('When the same windowed question is asked again (%s), Then it is answered from the kept lists, not counted again', async (url) => {
    await get(url);
    // The count was seen (the statement's text is what is watched: a change of it must not make this pass unseen).
    expect(scans).toBeGreaterThan(0);
    const before = scans;
    for (let n = 0; n < 3; n++) expect((await get(url)).items).toHaveLength(100);
    expect(scans - before).toBe(0);
  });

  // The kept rows are filtered by their items' catalog state: a pool as deep as the lists could not be taken
  // from them once one left sale, and every such request counted anew.
  it('When one product of the kept lists is taken off sale, Then the same diversified question is still answered from the kept lists', async () => {
    const url = '/v1/popular?k=100&windowDays=3650&diversity=0.5';
    const first = await get(url);
    const gone = first.items[0].itemId;
    const [item] = await t.services.catalog.getItems([gone]);
    await t.services.catalog.upsertItems([{ ...item, available: false }]);
    // Past the kept items' catalog refresh (2 s).
    await new Promise((r) => setTimeout(r, 2200));
    await get(url);
    const before = scans;
    for (let n = 0; n < 3; n++) {
      const body = await get(url);
      expect(body.items).toHaveLength(100);
      expect(body.items.map((i) => i.itemId)).not.toContain(gone);
    }
    expect(scans - before).toBe(0);
  }, 30_000);
});
