import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';

/**
 * Product groups where the served list is not built from a trained item's own tables: a cart item added
 * after training, and a shop before its first training (popularity counted by Postgres). The pots g5-g9 of
 * the shop fixture are one style ('pot').
 */
const available = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
const POTS = ['g5', 'g6', 'g7', 'g8', 'g9'];

describe.skipIf(!available)('product groups outside a trained item\'s own lists', () => {
  const prefix = `${randomPrefix('groups-review')}:`;
  let redis: Redis;
  let t: TestApp;
  const ids = async (req: { url: string; method?: 'GET' | 'POST'; payload?: object }) => {
    const res = await t.app.inject({ method: req.method ?? 'GET', url: req.url, payload: req.payload, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return recommendationResponse.parse(res.json()).items.map((i) => i.itemId);
  };
  const putItem = async (id: string, payload: object) => {
    const res = await t.app.inject({ method: 'PUT', url: `/v1/items/${id}`, headers: auth('write'), payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
  };
  const groupPots = async () => {
    for (const item of await t.services.catalog.getItems(POTS)) {
      await putItem(item.id, { title: item.title, categories: item.categories, price: item.price, itemGroupId: 'pot' });
    }
  };
  const pots = (list: string[]) => list.filter((id) => POTS.includes(id) || id.startsWith('g-pot'));

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    t = await createTestApp({ createDb: createPostgresTestDb, store: createRedisModelStore({ redis, prefix }) });
    await seedShop(t.services);
    await groupPots();
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    await unlinkPrefixed(redis, prefix);
    await redis.quit();
  });

  describe('before the first training (no model: popularity counted by Postgres)', () => {
    it('When a grouped product\'s similar items are asked for, Then its own group is left out (README: "A product\'s similar ... lists leave out its own group")', async () => {
      // 16 groups besides the pots are for sale (the tools, the kitchen items): k=16 fills without a pot.
      const list = await ids({ url: '/v1/items/g5/similar?k=16' });
      expect(list).toHaveLength(16);
      expect(pots(list)).toEqual([]);
    });

    it('When a cart holds a grouped product, Then the cart\'s group is left out (README: "which also leaves out the cart\'s own groups")', async () => {
      const list = await ids({ url: '/v1/recommendations', method: 'POST', payload: { items: ['g5'], k: 16 } });
      expect(list).toHaveLength(16);
      expect(pots(list)).toEqual([]);
    });
  });

  describe('after a training', () => {
    beforeAll(async () => {
      await trainAndPublish(t.services);
    }, 120_000);

    it('When a cart holds a product added after training to a group, Then that group is left out as on the product\'s own page', async () => {
      // The fixture has 16 available groups besides the pots (and 17 with them): a list of 16 for a cart of a
      // product without a group shows a pot, so the test can tell.
      await putItem('g-pot-lone', { title: 'ceramic flower pot orange', categories: ['garden', 'pots'], price: 12 });
      const lone = await ids({ url: '/v1/recommendations', method: 'POST', payload: { items: ['g-pot-lone'], k: 16 } });
      expect(pots(lone).length).toBeGreaterThan(0);
      // Its page leaves the group out (item-groups.test.ts); the cart should too.
      await putItem('g-pot-new', { title: 'ceramic flower pot yellow', categories: ['garden', 'pots'], price: 12, itemGroupId: 'pot' });
      expect(pots(await ids({ url: '/v1/items/g-pot-new/similar?k=16' }))).toEqual([]);
      const cart = await ids({ url: '/v1/recommendations', method: 'POST', payload: { items: ['g-pot-new'], k: 16 } });
      expect(cart).toHaveLength(16);
      expect(pots(cart)).toEqual([]);
    });

    const buy = async (userId: string, itemId: string) => {
      const post = await t.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth('write'),
        payload: { events: [{ userId, itemId, quantity: 1, orderId: `${userId}-${itemId}`, ts: new Date().toISOString() }] },
      });
      expect(post.statusCode, post.body).toBe(200);
    };

    it('When a customer buys a product added after training to a group, Then that group is left out of their list as a known variant\'s is', async () => {
      // k-user0 bought kitchen items only (k0-k3): 13 groups are left for them, the pots among them.
      const before = await ids({ url: '/v1/users/k-user0/recommendations?k=16' });
      expect(pots(before).length).toBeGreaterThan(0);
      await putItem('g-pot-bought', { title: 'ceramic flower pot white', categories: ['garden', 'pots'], price: 12, itemGroupId: 'pot' });
      await buy('k-user0', 'g-pot-bought');
      const after = await ids({ url: '/v1/users/k-user0/recommendations?k=16' });
      expect(after.length).toBeGreaterThan(0);
      expect(pots(after)).toEqual([]);
    });

    it('When a customer the version does not know bought only a product added after training to a group, Then their list leaves that group out', async () => {
      await putItem('g-pot-first', { title: 'ceramic flower pot grey', categories: ['garden', 'pots'], price: 12, itemGroupId: 'pot' });
      await buy('g-first-timer', 'g-pot-first');
      const list = await ids({ url: '/v1/users/g-first-timer/recommendations?k=16' });
      expect(list).toHaveLength(16);
      expect(pots(list)).toEqual([]);
    });
  });
});
