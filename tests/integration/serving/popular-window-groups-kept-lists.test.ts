import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, seedShop, T0 } from './shop-fixture.js';

// GET /v1/popular?windowDays answers a repeated question from lists Postgres counted once and keeps (300 rows,
// "k (at most 100) plus room for what a request excludes"): a count is a scan of the purchases, seconds at ten
// times our data (popular-diversity-kept-lists.test.ts). With product groups an answer takes one product per
// group from those rows; in a fashion catalogue, whose variants rank together, 300 rows hold about 30 styles,
// so every question for more styles than that is counted anew, however often it is asked.
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

const STYLES = 60;
const VARIANTS = 10;
const K = 50;

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('windowed popularity of a catalogue in product groups', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: counting });
    await seedShop(t.services);
    // 60 styles in 10 variants (sizes), each variant bought once in the window: tied counts rank by id, so a
    // style's variants sit together in the kept list, as variants of one style sell alike.
    const ids = Array.from({ length: STYLES * VARIANTS }, (_, i) => ({ id: `s${String(Math.floor(i / VARIANTS)).padStart(2, '0')}-v${i % VARIANTS}`, style: `style-${Math.floor(i / VARIANTS)}` }));
    await t.services.catalog.upsertItems(ids.map(({ id, style }) => ({ id, title: `shirt ${id}`, categories: ['shirts'], price: 20, itemGroupId: style })));
    await t.services.events.insertPurchases(
      ids.map(({ id }, i) => ({ userId: `s-user${i % 50}`, itemId: id, quantity: 1, price: null, orderId: `so${i}`, ts: new Date(T0 + 50 * DAY) })),
    );
  }, 60_000);
  afterAll(() => t?.dispose());

  const get = async (url: string) => {
    const res = await t.app.inject({ url, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: { itemId: string }[] };
  };

  it('When the same windowed question for 50 products is asked again, Then it is answered from the kept lists, not counted again', async () => {
    const url = `/v1/popular?k=${K}&windowDays=3650`;
    const first = await get(url);
    // One product per style, and the list is full: the answer itself is right.
    expect(first.items).toHaveLength(K);
    const styles = first.items.map((i) => i.itemId).filter((id) => id.startsWith('s')).map((id) => id.slice(0, 3));
    expect(new Set(styles).size).toBe(styles.length);
    expect(scans).toBeGreaterThan(0);
    const before = scans;
    for (let n = 0; n < 3; n++) expect((await get(url)).items).toHaveLength(K);
    expect(scans - before).toBe(0);
  });

  it('When a request excludes every variant the kept lists hold of a style, Then the style is still offered by another variant', async () => {
    // Tied counts rank by id: s00-v0 is the style's best variant, and the kept lists hold its first few.
    const url = `/v1/popular?k=${K}&windowDays=3650`;
    expect((await get(url)).items.map((i) => i.itemId)).toContain('s00-v0');
    const excluded = ['s00-v0', 's00-v1', 's00-v2', 's00-v3', 's00-v4'];
    const ids = (await get(`${url}&exclude=${excluded.join(',')}`)).items.map((i) => i.itemId);
    expect(ids).toHaveLength(K);
    expect(ids.filter((id) => id.startsWith('s00-'))).toEqual(['s00-v5']);
  });
});
