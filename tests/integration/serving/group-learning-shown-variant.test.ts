import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';
import { seedShop, shopData, trainAndPublish } from './shop-fixture.js';

/**
 * Learning per product group (grouped-recommender.ts) gives a style's score to one variant, the one that
 * "shows" it, chosen at training. The shop fixture's five flower pots (g5-g9, prices 12-16) are made one
 * style BEFORE training here, so item-kNN learns per group. A customer whose list holds a pot must still be
 * offered a pot that serving can list: one in the price range asked for, or one still in stock after the
 * variant that showed the style sold out. Per product (before 83ff5a9) each pot had its own score and both held.
 */
const available = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
const POTS = ['g5', 'g6', 'g7', 'g8', 'g9'];

describe.skipIf(!available)('a style learnt per group is still served by a variant serving can list', () => {
  const prefix = `${randomPrefix('group-shown')}:`;
  let redis: Redis;
  let t: TestApp;
  let store: ModelStore;
  const items = async (url: string) => {
    const res = await t.app.inject({ url, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return recommendationResponse.parse(res.json()).items;
  };
  const pots = (list: { itemId: string }[]) => list.map((i) => i.itemId).filter((id) => POTS.includes(id));
  const pot = (id: string) => shopData().items.find((i) => i.id === id)!;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    store = createRedisModelStore({ redis, prefix });
    t = await createTestApp({ createDb: createPostgresTestDb, store });
    await seedShop(t.services);
    await t.services.catalog.upsertItems(POTS.map((id) => ({ ...pot(id), itemGroupId: 'pot' })));
    await trainAndPublish(t.services);
  }, 180_000);
  afterAll(async () => {
    await t?.dispose();
    await unlinkPrefixed(redis, prefix);
    await redis.quit();
  });

  // g-user0 bought g0-g3 (tools): item-kNN lists a pot for them.
  const URL = '/v1/users/g-user0/recommendations?k=8&strategy=item-knn';

  it('When the price range leaves out the variant that shows the style, Then a sibling in the range is listed', async () => {
    const listed = pots(await items(URL));
    expect(listed).toHaveLength(1);
    // A price range without the listed pot that other pots are in: below it when a cheaper pot exists, else above.
    const price = pot(listed[0]).price!;
    const cheaper = POTS.filter((id) => pot(id).price! < price);
    const range = cheaper.length > 0 ? `maxPrice=${price - 1}` : `minPrice=${price + 1}`;
    const inRange = cheaper.length > 0 ? cheaper : POTS.filter((id) => pot(id).price! > price);
    expect(inRange.length).toBeGreaterThan(0);
    const narrowed = await items(`${URL}&${range}`);
    expect(pots(narrowed).filter((id) => inRange.includes(id))).toHaveLength(1);
  });

  it('When a per-product source that lists only the customer\u2019s purchases offers the shown variant and a filter refuses it, Then no sibling they never bought is listed as bought before', async () => {
    // Buy-again learns per product (registry.ts) and lists only what the customer bought; item-kNN learnt per
    // group here, so the pot that shows the style is marked. Excluding each customer's own pots refuses
    // the shown one for whoever bought it: nothing buy-again lists may then be a pot they never bought.
    const { purchases } = shopData();
    const wrong: string[] = [];
    for (let j = 0; j < 12; j++) {
      const user = `g-user${j}`;
      const bought = new Set(purchases.filter((p) => p.userId === user).map((p) => p.itemId));
      const ownPots = POTS.filter((id) => bought.has(id));
      if (ownPots.length === 0) continue;
      const list = await items(`/v1/users/${user}/recommendations?k=8&strategy=buy-again&exclude=${ownPots.join(',')}`);
      for (const i of list) if (i.sources.includes('buy-again') && !bought.has(i.itemId)) wrong.push(`${user}: ${i.itemId} (${i.explanation})`);
    }
    expect(wrong).toEqual([]);
  });

  it('When the variant that shows the style sells out after training, Then a sibling still in stock is listed', async () => {
    const listed = pots(await items(URL));
    expect(listed).toHaveLength(1);
    const res = await t.app.inject({ method: 'PUT', url: `/v1/items/${listed[0]}`, headers: auth('write'), payload: { ...pot(listed[0]), id: undefined, itemGroupId: 'pot', available: false } });
    expect(res.statusCode, res.body).toBe(200);
    await t.services.serving.refresh();
    const after = pots(await items(URL));
    expect(after).not.toContain(listed[0]);
    expect(after).toHaveLength(1);
  });

  // The catalog overlay brings a product's new group to the active version, but the model keeps the groups of its
  // training: when the variant that shows a style leaves it, the style's other variants must still list it.
  it('When the variant that shows the style leaves the group after training, Then the style is still listed by another variant', async () => {
    const listed = pots(await items(URL));
    expect(listed).toHaveLength(1);
    const res = await t.app.inject({ method: 'PUT', url: `/v1/items/${listed[0]}`, headers: auth('write'), payload: { ...pot(listed[0]), id: undefined, itemGroupId: null } });
    expect(res.statusCode, res.body).toBe(200);
    await t.services.serving.refresh();
    const after = pots(await items(`${URL.replace('k=8', 'k=12')}`));
    // The pots still in the group: one of them lists the style.
    expect(after.filter((id) => id !== listed[0])).toHaveLength(1);
  });
});
