import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServing } from '../../../src/serving/create-serving.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from './shop-fixture.js';

// 34b9716 lists a customer's purchases since training in buy-again and repurchase lists, but only on the warm
// path (answerForUser). A customer the version does not know (first purchase after training, or known by
// attributes only) is answered by coldStart, which excluded their purchases by default (`q.excludePurchased ??
// true`) whatever the strategy, against the API's "excludePurchased: default true, except for
// strategy=buy-again and strategy=repurchase": all their purchases are since training, and none was listed.
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('buy-again for a customer new since training', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await seedShop(t.services);
    await trainAndPublish(t.services);
  }, 60_000);
  afterAll(() => t.dispose());

  type Item = { itemId: string; score: number; sources: string[]; explanation?: string };
  const buy = async (userId: string, itemId: string, ts: number) => {
    const post = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: { events: [{ userId, itemId, quantity: 1, orderId: `${userId}-${itemId}`, ts: new Date(ts).toISOString() }] },
    });
    expect(post.statusCode, post.body).toBe(200);
  };
  const list = async (userId: string, query: string) => {
    const res = await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=6&${query}`, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { strategy: string; fallback: boolean; items: Item[] };
  };
  const nonIncreasing = (items: Item[]) => items.every((it, n) => n === 0 || it.score <= items[n - 1].score);

  it('When a customer first bought after training, Then buy-again and repurchase list what they bought, newest first, as bought before', async () => {
    await buy('newcomer-b', 'g7', T0 + 80 * DAY);
    await buy('newcomer-b', 'g2', T0 + 81 * DAY);
    for (const strategy of ['buy-again', 'repurchase']) {
      const body = await list('newcomer-b', `strategy=${strategy}`);
      expect(body.items.slice(0, 2), strategy).toMatchObject([
        { itemId: 'g2', sources: [strategy], explanation: 'you bought this before' },
        { itemId: 'g7', sources: [strategy], explanation: 'you bought this before' },
      ]);
      expect(body.items).toHaveLength(6);
      expect(body.items.slice(2).every((i) => !i.sources.includes(strategy))).toBe(true);
      expect(nonIncreasing(body.items), JSON.stringify(body.items)).toBe(true);
      expect(body).toMatchObject({ strategy, fallback: true });
      // Asked to leave their purchases out, the list has none of them, as before.
      const without = await list('newcomer-b', `strategy=${strategy}&excludePurchased=true`);
      expect(without.items.map((i) => i.itemId)).not.toContain('g7');
      expect(without.items.map((i) => i.itemId)).not.toContain('g2');
    }
    // Other strategies still leave them out by default.
    expect((await list('newcomer-b', 'strategy=hybrid')).items.map((i) => i.itemId)).not.toContain('g7');
  });

  it('When a customer known by attributes only buys after training, Then buy-again lists the purchase first, then their segment', async () => {
    const put = await t.app.inject({ method: 'PUT', url: '/v1/users/attr-only', headers: auth('write'), payload: { attributes: { country: 'FR' } } });
    expect(put.statusCode, put.body).toBeLessThan(300);
    await buy('attr-only', 'k3', T0 + 80 * DAY);
    const body = await list('attr-only', 'strategy=buy-again');
    expect(body.items[0]).toMatchObject({ itemId: 'k3', sources: ['buy-again'], explanation: 'you bought this before' });
    expect(body.items.filter((i) => i.sources.includes('buy-again')).map((i) => i.itemId)).toEqual(['k3']);
    expect(nonIncreasing(body.items)).toBe(true);
  });

  it('When an erased customer buys again, Then buy-again lists only what they bought after the erasure', async () => {
    // g-user3 bought g3-g6 in training, and g8 since; erased, then buys g9.
    await buy('g-user3', 'g8', T0 + 80 * DAY);
    const erase = await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') });
    expect(erase.statusCode, erase.body).toBe(204);
    await buy('g-user3', 'g9', Date.now() + 60_000);
    const body = await list('g-user3', 'strategy=buy-again');
    expect(body.items.filter((i) => i.explanation === 'you bought this before').map((i) => i.itemId)).toEqual(['g9']);
    expect(body.items.filter((i) => i.sources.includes('buy-again')).map((i) => i.itemId)).toEqual(['g9']);
  });

  it('When a customer is erased while their request reads their live purchases, Then the answer lists none of them', async () => {
    await buy('newcomer-e', 'g7', T0 + 80 * DAY);
    // The live-events read answers with what the store held before the erasure, once the erasure is done.
    let entered!: () => void;
    const reading = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let hold = true;
    const store: ModelStore = {
      ...t.services.store,
      getUserEvents: async (id) => {
        const found = await t.services.store.getUserEvents(id);
        if (hold && id === 'newcomer-e') {
          hold = false;
          entered();
          await released;
        }
        return found;
      },
    };
    const serving = createServing({ store, db: t.services.db, catalog: t.services.catalog, recheckMs: 60_000 });
    const inFlight = serving.recommendForUser('newcomer-e', { k: 6, strategy: 'buy-again' });
    await reading;
    expect(await t.services.eraseUser('newcomer-e')).toBe(true);
    await serving.forgetUser('newcomer-e');
    release();
    const answer = await inFlight;
    expect(answer.items.filter((i) => i.explanation === 'you bought this before' || i.sources.includes('buy-again'))).toEqual([]);
    expect(answer.strategy).toBe('popularity');
  });
});
