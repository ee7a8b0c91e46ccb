import { afterEach, describe, expect, it, vi } from 'vitest';
import { cooccurrenceFactory, isCooccurrenceRecommender } from '../../../src/recommenders/cooccurrence.js';
import { buildDataset, type ItemInfo, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { itemKnnFactory } from '../../../src/recommenders/item-knn.js';
import { popularityFactory } from '../../../src/recommenders/popularity.js';
import type { RecommenderFactory, UserContext } from '../../../src/recommenders/recommender.js';
import { recommenderFactory } from '../../../src/recommenders/registry.js';

const DAY = 86_400_000;
const item = (id: string, itemGroupId: string | null = null): ItemInfo => ({ id, title: id, categories: [], price: null, attributes: {}, available: true, itemGroupId });
/** A dress in sizes S and M (one style), a bag and a scarf (no group). */
const CATALOG = [item('dress-S', 'dress'), item('dress-M', 'dress'), item('bag'), item('scarf')];
const rows = (baskets: [string, string, string[]][]): PurchaseRow[] =>
  baskets.flatMap(([userId, orderId, items], n) => items.map((itemId) => ({ userId, itemId, orderId, ts: (n + 1) * DAY, quantity: 1, price: null })));
const fromRegistry = (name: string) => recommenderFactory(name)! as RecommenderFactory<unknown>;
const named = (ids: readonly string[], xs: { item: number }[]) => xs.map((x) => ids[x.item]);

afterEach(() => {
  vi.useRealTimers();
});

describe('learning per product group', () => {
  // u1 bought the dress in S with the bag, u2 the dress in M with the bag, u3 the dress in S alone, u4 a scarf.
  const events = rows([
    ['u1', 'o1', ['dress-S', 'bag']],
    ['u2', 'o2', ['dress-M', 'bag']],
    ['u3', 'o3', ['dress-S']],
    ['u4', 'o4', ['scarf']],
  ]);
  const ds = buildDataset({ events, items: CATALOG });
  const at = (id: string) => ds.itemIndex.get(id)!;

  it('pools the sizes: two sizes each bought with the bag by a different customer make the style co-bought', () => {
    const params = { minSupport: 2, minCustomers: 2, score: 'support' };
    // Per product each size was bought with the bag once, below minSupport 2: nothing is co-bought.
    const perProduct = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams(params));
    expect(perProduct.boughtTogether(at('bag'), 10)).toEqual([]);
    // Per group the style was bought with the bag in 2 orders by 2 customers; it shows as dress-S, its
    // best-selling size (2 buyers against 1), and a purchase of either size finds the bag.
    const factory = fromRegistry('cooccurrence');
    const model = factory.fit(ds, factory.parseParams(params));
    expect(isCooccurrenceRecommender(model)).toBe(true);
    if (!isCooccurrenceRecommender(model)) return;
    const withBag = model.boughtTogether(at('bag'), 10);
    expect(named(ds.itemIds, withBag)).toEqual(['dress-S']);
    expect(withBag[0].support).toBe(2);
    expect(named(ds.itemIds, model.boughtTogether(at('dress-M'), 10))).toEqual(['bag']);
    expect(named(ds.itemIds, model.boughtTogether(at('dress-S'), 10))).toEqual(['bag']);
    // `perGroup: false` keeps the family per product.
    const kept = factory.fit(ds, factory.parseParams({ ...params, perGroup: false }));
    expect(isCooccurrenceRecommender(kept) && kept.boughtTogether(at('bag'), 10)).toEqual([]);
  });

  it('scores a customer who bought another size by what the style was bought with (item-kNN)', () => {
    // u5 bought only dress-M, whom per product no one bought with anything else than the bag (u2).
    const shop = buildDataset({ events: rows([['u1', 'o1', ['dress-S', 'bag']], ['u2', 'o2', ['dress-M']], ['u3', 'o3', ['scarf', 'dress-S']]]), items: CATALOG });
    const ctx: UserContext = { user: shop.userIndex.get('u2')!, history: [{ item: shop.itemIndex.get('dress-M')!, ts: 2 * DAY, quantity: 1, order: 'o2' }], attributes: {} };
    const score = (factory: RecommenderFactory<unknown>, raw: unknown) => {
      const out = new Float32Array(shop.itemIds.length);
      factory.fit(shop, factory.parseParams(raw)).scoreUser(ctx, out);
      return Object.fromEntries(shop.itemIds.map((id, i) => [id, out[i]]));
    };
    const perProduct = score(itemKnnFactory as RecommenderFactory<unknown>, {});
    expect(perProduct.bag).toBe(0);
    expect(perProduct.scarf).toBe(0);
    const perGroup = score(fromRegistry('item-knn'), {});
    // The style's buyers u1 and u3 bought the bag and the scarf: both score for u2 now.
    expect(perGroup.bag).toBeGreaterThan(0);
    expect(perGroup.scarf).toBeGreaterThan(0);
  });

  it('counts a style once per buyer over its sizes in popularity, on the variant that shows it', () => {
    // The dress: 3 buyers over two sizes (dress-S 2, dress-M 1); the bag: 2 buyers. Per product the bag
    // ties dress-S; per group the dress leads, and only dress-S (its best-selling size) carries the score.
    const raw = { halfLifeDays: null, attributes: [] };
    const perProduct = popularityFactory.fit(ds, popularityFactory.parseParams(raw)).popularItems(undefined, 10);
    expect(named(ds.itemIds, perProduct).slice(0, 3)).toEqual(['dress-S', 'bag', 'dress-M']);
    const factory = fromRegistry('popularity');
    const model = factory.fit(ds, factory.parseParams(raw)) as ReturnType<typeof popularityFactory.fit>;
    const list = model.popularItems(undefined, 10);
    expect(named(ds.itemIds, list)).toEqual(['dress-S', 'bag', 'scarf']);
    expect(list[0].score).toBeGreaterThan(list[1].score);
  });

  it('shows a style by an available variant when its best-seller is sold out', () => {
    const soldOut = buildDataset({ events, items: CATALOG.map((i) => (i.id === 'dress-S' ? { ...i, available: false } : i)) });
    const factory = fromRegistry('cooccurrence');
    const model = factory.fit(soldOut, factory.parseParams({ minSupport: 2, minCustomers: 2 }));
    expect(isCooccurrenceRecommender(model) && named(soldOut.itemIds, model.boughtTogether(soldOut.itemIndex.get('bag')!, 10))).toEqual(['dress-M']);
  });

  it('keeps a grouped model through its artifact, and onto a catalogue that grew', () => {
    const factory = fromRegistry('cooccurrence');
    const model = factory.fit(ds, factory.parseParams({ minSupport: 2, minCustomers: 2 }));
    const grown = { itemIds: ['new', ...ds.itemIds] };
    const loaded = factory.fromArtifact(model.toArtifact(), grown);
    expect(isCooccurrenceRecommender(loaded)).toBe(true);
    if (!isCooccurrenceRecommender(loaded)) return;
    expect(named(grown.itemIds, loaded.boughtTogether(1 + at('bag'), 10))).toEqual(['dress-S']);
    expect(named(grown.itemIds, loaded.boughtTogether(1 + at('dress-M'), 10))).toEqual(['bag']);
    expect(loaded.boughtTogether(0, 10)).toEqual([]);
  });

  it("wipes an erased customer's rows from a grouped model (ALS) and keeps the others'", () => {
    const factory = fromRegistry('als');
    // ALS learns per group only when asked (registry.ts); unasked it stays the family's own model.
    expect(Buffer.from(factory.fit(ds, factory.parseParams({ factors: 4, iterations: 5 })).toArtifact()).includes(Buffer.from('"algorithm":"grouped"'))).toBe(false);
    const model = factory.fit(ds, factory.parseParams({ factors: 4, iterations: 5, perGroup: true }));
    const scores = (r: typeof model, user: string) => {
      const out = new Float32Array(ds.itemIds.length);
      r.scoreUser({ user: ds.userIndex.get(user)!, history: [], attributes: {} }, out);
      return [...out];
    };
    const wiped = factory.withoutUsers!(model.toArtifact(), new Set([ds.userIndex.get('u1')!]))!;
    const loaded = factory.fromArtifact(wiped, ds);
    expect(scores(model, 'u1').some((v) => v !== 0)).toBe(true);
    expect(scores(loaded, 'u1').every((v) => v === 0)).toBe(true);
    expect(scores(loaded, 'u2')).toEqual(scores(model, 'u2'));
    // Serving's neighbour tables of a large catalogue rank pools (serving-tables.ts): the pool's groups, never
    // the item's own, each as the variant that shows it.
    const among = (model as unknown as { similarAmong: (item: number, pool: number[], k: number) => { item: number }[] }).similarAmong;
    expect(typeof among).toBe('function');
    const ranked = among(at('dress-M'), [at('dress-S'), at('dress-M'), at('bag'), at('scarf')], 10);
    expect(ranked.every((n) => ['bag', 'scarf'].includes(ds.itemIds[n.item]))).toBe(true);
  });

  it("wipes an erased customer's rows of a grouped model (ALS) in place: the patches write what the rewrite writes", async () => {
    const factory = fromRegistry('als');
    const bytes = factory.fit(ds, factory.parseParams({ factors: 4, iterations: 5, perGroup: true })).toArtifact();
    expect(Buffer.from(bytes).includes(Buffer.from('"algorithm":"grouped"'))).toBe(true);
    const rows = new Set([ds.userIndex.get('u1')!]);
    const patches = (await factory.rowPatches!(async (start, end) => bytes.slice(start, end), rows))!;
    expect(patches.length).toBe(2);
    const patched = bytes.slice();
    for (const { offset, bytes: b } of patches) patched.set(b, offset);
    expect(Buffer.from(patched).equals(Buffer.from(factory.withoutUsers!(bytes, rows)!))).toBe(true);
  });

  it('refuses a perGroup that is not a boolean, naming the field', () => {
    expect(() => fromRegistry('als').parseParams({ perGroup: 'yes' })).toThrow(/als\.perGroup/);
  });

  it('fits a catalogue without groups exactly as the family does: the same artifact bytes', () => {
    vi.useFakeTimers({ now: new Date('2026-12-06T00:00:00Z'), toFake: ['Date'] });
    const plain = buildDataset({ events, items: CATALOG.map((i) => ({ ...i, itemGroupId: null })) });
    for (const name of ['popularity', 'item-knn', 'als', 'cooccurrence', 'ease', 'user-knn']) {
      const factory = fromRegistry(name);
      const params = factory.parseParams(name === 'cooccurrence' ? { minSupport: 1 } : {});
      const family = { popularity: popularityFactory, 'item-knn': itemKnnFactory, cooccurrence: cooccurrenceFactory }[name as 'popularity'];
      const direct = family ? family.fit(plain, params as never).toArtifact() : undefined;
      const registered = factory.fit(plain, params).toArtifact();
      if (direct) expect(Buffer.from(registered).equals(Buffer.from(direct))).toBe(true);
      // Fitted twice the same way, and the artifact is the family's own (no group wrapper).
      expect(Buffer.from(registered).includes(Buffer.from('"algorithm":"grouped"'))).toBe(false);
    }
  });
});
