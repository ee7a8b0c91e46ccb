import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';
import { createDbPopularity } from '../../../src/serving/db-popularity.js';
import { ARTIFACT_ITEMS, decodeItemsArtifact } from '../../../src/serving/serving-artifacts.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';

/**
 * Product groups (item_group_id): the five ceramic flower pots of the shop fixture (g5-g9) are one style in
 * five colours, the five kitchen knives (k5-k9) another. Every served list keeps the best-ranked product of a
 * group and fills the freed places further down its ranking; a product's page leaves out its own group.
 * What a list should be is read from the same version's list before the groups were set (every item, k=30):
 * its later siblings dropped, cut to k.
 */
const available = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));

const GROUP: Record<string, string> = Object.fromEntries([
  ...['g5', 'g6', 'g7', 'g8', 'g9'].map((id) => [id, 'pot']),
  ...['k5', 'k6', 'k7', 'k8', 'k9'].map((id) => [id, 'knife']),
]);
const groupOf = (id: string) => GROUP[id] ?? `own:${id}`;
/** Available groups of the fixture: ten single tools and glasses, k-new, the pots, the knives (g-gone is not for sale). */
const GROUPS = 13;
const K = 8;
/** Popularity puts the pots and knives after the ten singles: a list of twelve reaches them. */
const kOf = (list: string) => (list.includes('popular') || list.includes('cold-start') ? 12 : K);

/** The ids in order, each group's first only, none of `leftOut`'s group. */
function onePerGroup(ids: readonly string[], leftOut?: string): string[] {
  const seen = new Set(leftOut === undefined ? [] : [groupOf(leftOut)]);
  return ids.filter((id) => !seen.has(groupOf(id)) && seen.add(groupOf(id)) !== undefined);
}
const hasSiblings = (ids: readonly string[]) => new Set(ids.map(groupOf)).size < ids.length;

const LISTS = {
  'personalised recommendations': (k: number) => ({ url: `/v1/users/g-user0/recommendations?k=${k}` }),
  'a cold-start customer': (k: number) => ({ url: `/v1/users/nobody-yet/recommendations?k=${k}` }),
  'popular items': (k: number) => ({ url: `/v1/popular?k=${k}` }),
  'popular items of an attribute value': (k: number) => ({ url: `/v1/popular?k=${k}&attribute=country:UK` }),
  'popular items in a time window (counted by Postgres)': (k: number) => ({ url: `/v1/popular?k=${k}&windowDays=3650` }),
  'a cart': (k: number) => ({ url: '/v1/recommendations', method: 'POST' as const, payload: { items: ['g1'], k } }),
};

describe.skipIf(!available)('product groups on Postgres and Redis', () => {
  const prefix = `${randomPrefix('groups')}:`;
  let redis: Redis;
  let t: TestApp;
  let store: ModelStore;
  const ids = async (req: { url: string; method?: 'GET' | 'POST'; payload?: object }) => {
    const res = await t.app.inject({ method: req.method ?? 'GET', url: req.url, payload: req.payload, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return recommendationResponse.parse(res.json()).items.map((i) => i.itemId);
  };
  const putItem = (id: string, payload: object) => t.app.inject({ method: 'PUT', url: `/v1/items/${id}`, headers: auth('write'), payload });
  const getItem = async (id: string) => (await t.app.inject({ url: `/v1/items/${id}`, headers: auth('read') })).json();

  /** Each list of the version before groups were set, with every item. */
  const before: Record<string, string[]> = {};
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    store = createRedisModelStore({ redis, prefix });
    t = await createTestApp({ createDb: createPostgresTestDb, store });
    await seedShop(t.services);
    await trainAndPublish(t.services);
    for (const [name, req] of Object.entries(LISTS)) before[name] = await ids(req(30));
    before.similar = await ids({ url: '/v1/items/g5/similar?k=30' });
    before.boughtTogether = await ids({ url: '/v1/items/k5/bought-together?k=30' });
    // The groups set after training: the catalog overlay brings them to the active version.
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/items/batch',
      headers: auth('write'),
      payload: { items: (await t.services.catalog.getItems(Object.keys(GROUP))).map(({ id, title, categories, price }) => ({ id, title, categories, price, itemGroupId: GROUP[id] })) },
    });
    expect(res.statusCode, res.body).toBe(200);
    await t.services.serving.refresh();
    // The popularity lists Postgres counted read their items' catalog state again after about 2 s (db-popularity.ts).
    await new Promise((r) => setTimeout(r, 2500));
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    await unlinkPrefixed(redis, prefix);
    await redis.quit();
  });

  describe('the items API', () => {
    it('When an item is written with a group, Then it reads back with it, and a PUT without one takes it out of its group', async () => {
      expect((await putItem('v-shirt-s', { title: 'shirt S', itemGroupId: 'shirt' })).json()).toMatchObject({ id: 'v-shirt-s', itemGroupId: 'shirt' });
      expect(await getItem('v-shirt-s')).toMatchObject({ itemGroupId: 'shirt' });
      // Stored as the item's own field, not among its attributes.
      expect(await getItem('v-shirt-s')).toMatchObject({ attributes: {} });
      expect((await putItem('v-shirt-s', { title: 'shirt S' })).json()).toMatchObject({ itemGroupId: null });
      expect((await putItem('v-shirt-s', { title: 'shirt S', itemGroupId: 'shirt' })).json()).toMatchObject({ itemGroupId: 'shirt' });
      expect((await putItem('v-shirt-s', { title: 'shirt S', itemGroupId: null })).json()).toMatchObject({ itemGroupId: null });
      expect(await getItem('g5')).toMatchObject({ itemGroupId: 'pot' });
      expect(await getItem('g0')).toMatchObject({ itemGroupId: null });
    });

    it.each([
      ['an empty group id', ''],
      ['a group id longer than 256 characters', 'x'.repeat(257)],
      ['a group id with a NUL', 'a\u0000b'],
      ['a group id with a lone surrogate', 'a\udc00b'],
      ['a group id with spaces at its ends', ' shirt '],
      ['a group id that is no string', 7],
    ])('When an item is sent with %s, Then 400 VALIDATION_FAILED names the field and nothing is stored', async (_, itemGroupId) => {
      await putItem('v-kept', { title: 'kept', itemGroupId: 'kept-group' });
      const res = await putItem('v-kept', { title: 'changed', itemGroupId });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'body.itemGroupId' })] } });
      expect(await getItem('v-kept')).toMatchObject({ title: 'kept', itemGroupId: 'kept-group' });
      const batch = await t.app.inject({
        method: 'POST',
        url: '/v1/items/batch',
        headers: auth('write'),
        payload: { items: [{ id: 'v-batch-ok', title: 'fine', itemGroupId: 'fine' }, { id: 'v-kept', title: 'changed', itemGroupId }] },
      });
      expect(batch.statusCode).toBe(400);
      expect(batch.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'body.items.1.itemGroupId' })] } });
      expect(await t.services.catalog.getItem('v-batch-ok')).toBeNull();
      expect(await getItem('v-kept')).toMatchObject({ title: 'kept', itemGroupId: 'kept-group' });
    });
  });

  describe('served lists', () => {
    it.each(Object.keys(LISTS))('When %s are served, Then each group has its best-ranked product only and the list still has k items', async (name) => {
      // The list would have shown siblings without the groups: the test can tell.
      const k = kOf(name);
      expect(hasSiblings(before[name].slice(0, k))).toBe(true);
      const expected = onePerGroup(before[name], name === 'a cart' ? 'g1' : undefined).slice(0, k);
      expect(expected).toHaveLength(k);
      expect(await ids(LISTS[name as keyof typeof LISTS](k))).toEqual(expected);
    });

    it('When k is the number of groups, Then every group is on the list once', async () => {
      const all = await ids({ url: `/v1/popular?k=${GROUPS}` });
      expect(all).toHaveLength(GROUPS);
      expect(new Set(all.map(groupOf)).size).toBe(GROUPS);
    });

    it('When a variant\'s similar items are asked for, Then none of its siblings is listed and k items still are', async () => {
      expect(before.similar.filter((id) => GROUP[id] === 'pot').length).toBeGreaterThan(0);
      const list = await ids({ url: `/v1/items/g5/similar?k=${K}` });
      expect(list).toEqual(onePerGroup(before.similar, 'g5').slice(0, K));
      expect(list).toHaveLength(K);
      expect(list.filter((id) => GROUP[id] === 'pot')).toEqual([]);
    });

    it('When a variant\'s bought-together list is asked for, Then its siblings bought with it are not on it', async () => {
      expect(before.boughtTogether.filter((id) => GROUP[id] === 'knife').length).toBeGreaterThan(0);
      const list = await ids({ url: '/v1/items/k5/bought-together?k=30' });
      expect(list).toEqual(onePerGroup(before.boughtTogether, 'k5'));
      expect(list.filter((id) => GROUP[id] === 'knife')).toEqual([]);
    });

    it('When items without a group are listed, Then they keep their places among themselves', async () => {
      const ungrouped = (list: string[]) => list.filter((id) => !(id in GROUP));
      const name = 'personalised recommendations';
      const now = await ids(LISTS[name](30));
      expect(ungrouped(now)).toEqual(ungrouped(before[name]));
    });

    it('When a list is re-ranked for diversity, Then it still has one product per group', async () => {
      const list = await ids({ url: `/v1/users/g-user0/recommendations?k=${K}&diversity=0.7` });
      expect(list).toHaveLength(K);
      expect(hasSiblings(list)).toBe(false);
    });

    it('When Postgres counts a list for one request (uncached), Then it keeps one product per group too', async () => {
      const pop = createDbPopularity(t.services.db);
      const body = await pop.uncached({ k: 12, exclude: ['g5'] }, { fallback: false });
      // The best pot left is g6.
      const expected = onePerGroup(before['popular items in a time window (counted by Postgres)'].filter((id) => id !== 'g5')).slice(0, 12);
      expect(expected).toContain('g6');
      expect(body.items.map((i) => i.itemId)).toEqual(expected);
    });

    it('When a product added after training belongs to a group, Then its page leaves out that group', async () => {
      await putItem('g-pot-new', { title: 'ceramic flower pot yellow', categories: ['garden', 'pots'], price: 12, itemGroupId: 'pot' });
      await putItem('g-pot-lone', { title: 'ceramic flower pot orange', categories: ['garden', 'pots'], price: 12 });
      const lone = await ids({ url: `/v1/items/g-pot-lone/similar?k=${K}` });
      // Without a group it is like the pots; in their group none of them is its neighbour.
      expect(lone.filter((id) => GROUP[id] === 'pot').length).toBeGreaterThan(0);
      const list = await ids({ url: `/v1/items/g-pot-new/similar?k=${K}` });
      expect(list).toHaveLength(K);
      expect(list.filter((id) => GROUP[id] === 'pot')).toEqual([]);
    });

    it('When purchases are excluded, Then no variant of a product the customer bought is listed, and k items still are', async () => {
      // g-user2 bought the pot g5 (and the tools g2-g4).
      const pots = (list: string[]) => list.filter((id) => GROUP[id] === 'pot');
      for (const strategy of ['hybrid', 'item-knn', 'popularity']) {
        const list = await ids({ url: `/v1/users/g-user2/recommendations?k=${K}&strategy=${strategy}` });
        expect(list, strategy).toHaveLength(K);
        expect(pots(list), strategy).toEqual([]);
      }
      // A list of what they bought keeps showing it (buy-again lists own purchases, not excluded by default).
      expect(await ids({ url: `/v1/users/g-user2/recommendations?k=${K}&strategy=buy-again` })).toContain('g5');
      // With purchases kept, a pot is listed again (the exclusion is what left them out).
      expect(pots(await ids({ url: `/v1/users/g-user2/recommendations?k=12&excludePurchased=false` }))).not.toEqual([]);
    });

    it('When a customer the version does not know bought a variant since, Then its siblings are left out of their list', async () => {
      const post = await t.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth('write'),
        payload: { events: [{ userId: 'g-newcomer', itemId: 'g6', quantity: 1, orderId: 'g-newcomer-1', ts: new Date().toISOString() }] },
      });
      expect(post.statusCode, post.body).toBe(200);
      const list = await ids({ url: '/v1/users/g-newcomer/recommendations?k=12' });
      expect(list).toHaveLength(12);
      expect(list.filter((id) => GROUP[id] === 'pot')).toEqual([]);
    });

    it('When Postgres answers for a customer (no model, kept lists or uncached), Then no variant of what they bought is listed', async () => {
      const pop = createDbPopularity(t.services.db);
      // g-user6 bought the pots g6-g9 and no other product: the fifth pot g5 is its sibling.
      for (const body of [await pop.recommend({ k: 12, excludeBoughtBy: 'g-user6' }, { fallback: true }), await pop.uncached({ k: 12, excludeBoughtBy: 'g-user6' }, { fallback: true })]) {
        const list = body.items.map((i) => i.itemId);
        expect(list).toHaveLength(12);
        expect(list.filter((id) => GROUP[id] === 'pot')).toEqual([]);
      }
      // Without the customer, a pot is among them.
      const all = (await pop.recommend({ k: 12 }, { fallback: true })).items.map((i) => i.itemId);
      expect(all.filter((id) => GROUP[id] === 'pot')).not.toEqual([]);
    });

    it('When a cart holds a product added after training, Then its record is read once and read again after the product changes group', async () => {
      await putItem('g-cart-new', { title: 'ceramic flower pot grey', categories: ['garden', 'pots'], price: 12, itemGroupId: 'pot' });
      await t.services.serving.refresh();
      const cart = () => ids({ url: '/v1/recommendations', method: 'POST', payload: { items: ['g-cart-new'], k: 12 } });
      // The reads of the product's record Postgres is sent (the real ones, counted on their way).
      const db = t.services.db;
      const query = db.query;
      const asked: string[][] = [];
      db.query = ((sql: string, params?: unknown[]) => {
        if (sql.includes('FROM items WHERE id = ANY') && Array.isArray(params?.[0])) asked.push(params[0] as string[]);
        return query.call(db, sql, params);
      }) as typeof db.query;
      try {
        const first = await cart();
        expect(first.filter((id) => GROUP[id] === 'pot')).toEqual([]);
        expect(first.filter((id) => GROUP[id] === 'knife')).toHaveLength(1);
        await cart();
        expect(asked.filter((a) => a.includes('g-cart-new'))).toHaveLength(1);
        // Moved to the knives: the next list leaves out the knives and may list a pot again.
        await putItem('g-cart-new', { title: 'ceramic flower pot grey', categories: ['garden', 'pots'], price: 12, itemGroupId: 'knife' });
        await t.services.serving.refresh();
        const moved = await cart();
        expect(moved.filter((id) => GROUP[id] === 'knife')).toEqual([]);
        expect(moved.filter((id) => GROUP[id] === 'pot')).toHaveLength(1);
        expect(asked.filter((a) => a.includes('g-cart-new'))).toHaveLength(2);
      } finally {
        db.query = query;
      }
    });

    it('When a version is trained on the grouped catalogue, Then its stored item table holds the groups (serving needs no overlay for them)', async () => {
      const version = await trainAndPublish(t.services);
      const bytes = await store.getArtifact(version, ARTIFACT_ITEMS);
      expect(bytes).not.toBeNull();
      const { items } = decodeItemsArtifact(bytes!);
      expect(items.groups).toBeDefined();
      const stored = Object.fromEntries(items.ids.map((id, i) => [id, items.groups!.of[i] < 0 ? null : items.groups!.ids[items.groups!.of[i]]]));
      for (const id of Object.keys(GROUP)) expect(stored[id], id).toBe(GROUP[id]);
      // A product without a group is a group of its own.
      expect(stored.g1).toBeNull();
    });
  });
});
