import { describe, expect, it } from 'vitest';
import { buildServingModel, prepareServingModel } from '../../../src/serving/serving-model-builder.js';
import { buildDataset, type ItemInfo } from '../../../src/recommenders/dataset.js';
import { decodeServingModel } from '../../../src/serving/serving-model.js';
import { ARTIFACT_ITEMS, ARTIFACT_NEIGHBOURS, ARTIFACT_POPULAR, decodeItemsArtifact } from '../../../src/serving/serving-artifacts.js';
import { decodeCandidates, decodeUserEntry, strategyTable, USERS_TABLE } from '../../../src/serving/user-entry.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from './fit-sources.js';
import { recommenderFactory } from '../../../src/recommenders/registry.js';
import { BOUGHT_BEFORE, sourcePhrase } from '../../../src/serving/explanations.js';
import { listsOwnItemsOnly } from '../../../src/serving/own-item-sources.js';

const { ds } = twoGroups();
const fitted = fitSources(ds);
const built = buildServingModel({ ds, fitted, recipe: { serving: { candidates: 10, strategyCandidates: 10 } } });
const model = decodeServingModel(
  { version: 'v1', recipe: 'test', trainedAt: new Date().toISOString(), info: {} },
  { items: built.artifacts.get(ARTIFACT_ITEMS)!, neighbours: built.artifacts.get(ARTIFACT_NEIGHBOURS)!, popular: built.artifacts.get(ARTIFACT_POPULAR)! },
);
const rows = (table: string) => new Map(built.tables.get(table)!);
const idx = (id: string) => ds.itemIndex.get(id)!;

describe('serving model builder', () => {
  it('When built, Then every buyer has an entry with their purchases and latest items', () => {
    const users = rows(USERS_TABLE);
    expect(users.size).toBe(24);
    const entry = decodeUserEntry(users.get('g-user0')!);
    // g-user0 bought g0, g1 (day 10) and g2, g3 (day 40): two orders, g2/g3 newest.
    expect([...entry.purchased]).toEqual(['g0', 'g1', 'g2', 'g3'].map(idx).sort((a, b) => a - b));
    expect(entry.orders).toBe(2);
    expect(new Set([...entry.recentItems].slice(0, 2))).toEqual(new Set([idx('g2'), idx('g3')]));
  });

  it('When a user is scored, Then the best unbought candidates are the two unbought items of their own group', () => {
    const users = rows(USERS_TABLE);
    for (let j = 0; j < 12; j++) {
      for (const g of ['g', 'k']) {
        const entry = decodeUserEntry(users.get(`${g}-user${j}`)!);
        const unbought = [...entry.hybrid.items].filter((i) => !entry.purchased.includes(i));
        expect(new Set(unbought.slice(0, 2).map((i) => ds.itemIds[i]))).toEqual(new Set([`${g}${(j + 4) % 6}`, `${g}${(j + 5) % 6}`]));
      }
    }
  });

  it('When candidates carry sources, Then an in-group neighbour names item-knn among them', () => {
    const entry = decodeUserEntry(rows(USERS_TABLE).get('g-user0')!);
    const first = [...entry.hybrid.items].findIndex((i) => !entry.purchased.includes(i));
    const names = model.info.hybridSources.filter((_, k) => entry.hybrid.sourceMask[first] & (1 << k));
    expect(names).toContain('item-knn');
  });

  it('When single strategies are stored, Then each non-popularity source has its own table', () => {
    const stored = buildServingModel({ ds, fitted, recipe: { serving: { candidates: 10, strategyCandidates: 10, strategyLists: 'stored' } } });
    const storedRows = (table: string) => new Map(stored.tables.get(table)!);
    for (const name of ['item-knn', 'content', 'cooccurrence', 'als', 'buy-again']) {
      const c = decodeCandidates(storedRows(strategyTable(name)).get('k-user3')!);
      expect(c.items.length).toBe(c.scores.length);
    }
    expect(stored.tables.has(strategyTable('popularity'))).toBe(false);
    expect(stored.info.strategyLists).toBe('stored');
    // buy-again only knows the user's own purchases.
    const again = decodeCandidates(storedRows(strategyTable('buy-again')).get('k-user3')!);
    expect(new Set([...again.items].map((i) => ds.itemIds[i]))).toEqual(new Set(['k3', 'k4', 'k5', 'k0']));
  });

  it('When single strategies are scored on request (the default), Then only the users table is stored and the version says so', () => {
    expect([...built.tables.keys()]).toEqual([USERS_TABLE]);
    expect(model.info.strategyLists).toBe('on-request');
    // Every source is still a strategy of the version.
    expect(model.info.strategies).toEqual(expect.arrayContaining(['hybrid', 'item-knn', 'als', 'buy-again', 'popularity']));
  });

  it('When co-occurrence is stored, Then g0 -> g1 carries support 4, confidence 0.5 and lift 3', () => {
    // g0 and g1 share 4 of 48 orders (users 0 and 6 in their first order, 4 and 10 in their second);
    // each is in 8 orders: confidence 4/8, lift 4 x 48 / (8 x 8).
    const t = model.neighbours.get('cooccurrence')!;
    const a = idx('g0');
    const p = [...t.items.subarray(t.indptr[a], t.indptr[a + 1])].indexOf(idx('g1')) + t.indptr[a];
    expect(t.support![p]).toBe(4);
    expect(t.confidence![p]).toBeCloseTo(0.5, 6);
    expect(t.lift![p]).toBeCloseTo(3, 5);
  });

  it('When popularity is stored, Then each country has a list led by its own group and every item is ranked globally', () => {
    const uk = model.popular.segments[model.segmentIndex.get('country\u0000UK')!];
    expect(uk.buyers).toBe(12);
    expect([...uk.items].slice(0, 6).every((i) => ds.itemIds[i].startsWith('g'))).toBe(true);
    expect(new Set(model.popular.order).size).toBe(12);
  });

  it('When the item table is decoded, Then titles, prices and categories round-trip', () => {
    const i = model.items.index.get('k2')!;
    expect(model.items.titles[i]).toBe('glass kitchen plate');
    expect(model.items.price[i]).toBe(62);
    expect(model.items.categories[i]).toEqual(['kitchen']);
    expect(model.info.strategies[0]).toBe('hybrid');
  });
});

describe('sources that list only the customer\u2019s own items', () => {
  it('When a recipe names them its own way, Then the model records them by family, and their picks are repurchases', () => {
    const sources = new Map(fitted.sources);
    // buy-again under another name, and repurchase beside it.
    sources.set('again', sources.get('buy-again')!);
    sources.delete('buy-again');
    const factory = recommenderFactory('repurchase')!;
    sources.set('learned', factory.fit(ds, factory.parseParams({})));
    const renamed = buildServingModel({ ds, fitted: { ...fitted, sources }, recipe: { serving: { candidates: 10, strategyCandidates: 10 } } });
    const model = decodeServingModel(
      { version: 'v2', recipe: 'renamed', trainedAt: new Date().toISOString(), info: {} },
      { items: renamed.artifacts.get(ARTIFACT_ITEMS)!, neighbours: renamed.artifacts.get(ARTIFACT_NEIGHBOURS)!, popular: renamed.artifacts.get(ARTIFACT_POPULAR)! },
    );
    const { info } = model;
    expect(info.ownItemSources).toEqual(['again', 'learned']);
    for (const name of ['again', 'learned']) {
      expect(listsOwnItemsOnly(info, name)).toBe(true);
      expect(sourcePhrase(model, name, 0, 0)).toBe(BOUGHT_BEFORE);
    }
    expect(listsOwnItemsOnly(info, 'item-knn')).toBe(false);
    // The default names are no longer own-item sources of this model.
    expect(listsOwnItemsOnly(info, 'buy-again')).toBe(false);
    // A model trained before the field was recorded, or none: the default recipe's names.
    expect(listsOwnItemsOnly({}, 'buy-again')).toBe(true);
    expect(listsOwnItemsOnly(undefined, 'repurchase')).toBe(true);
    expect(listsOwnItemsOnly(undefined, 'again')).toBe(false);
  });
});

describe('the variants that show groups learnt per group', () => {
  const DAY = 86_400_000;
  const item = (id: string, itemGroupId: string | null = null): ItemInfo => ({ id, title: id, categories: [], price: null, attributes: {}, available: true, itemGroupId });
  // dress-S sells best but is sold out: the style shows as dress-M (group-dataset.ts).
  const shop = buildDataset({
    items: [{ ...item('dress-S', 'dress'), available: false }, item('dress-M', 'dress'), item('dress-L', 'dress'), item('bag')],
    events: ['dress-S', 'dress-S', 'dress-M', 'bag'].map((itemId, n) => ({ userId: `u${n}`, itemId, orderId: `o${n}`, ts: (n + 1) * DAY, quantity: 1, price: null })),
  });
  const groupsOf = (params: unknown) => {
    const factory = recommenderFactory('item-knn')!;
    const sources = new Map([['item-knn', factory.fit(shop, factory.parseParams(params))]]);
    const prepared = prepareServingModel({ ds: shop, fitted: { sources, hybrid: sources.get('item-knn')! } });
    return decodeItemsArtifact(prepared.artifacts.get(ARTIFACT_ITEMS)!).items.groups!;
  };

  it('When a source learnt per group, Then the available best-seller of each group is marked as showing it, and no item in no group', () => {
    expect([...groupsOf({}).shows!]).toEqual([0, 1, 0, 0]);
  });

  it('When every source learnt per product, Then none is marked (serving lists each product on its own score)', () => {
    expect(groupsOf({ perGroup: false })).not.toHaveProperty('shows');
  });
});
