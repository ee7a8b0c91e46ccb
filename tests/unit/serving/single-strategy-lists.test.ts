import { describe, expect, it } from 'vitest';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import { createHybrid, itemBuyerCounts } from '../../../src/recommenders/hybrid.js';
import type { Dataset } from '../../../src/recommenders/dataset.js';
import { buildServingModel, createStrategyScorer, servingOptions, type FittedModels } from '../../../src/serving/serving-model-builder.js';
import { decodeCandidates, decodeUserEntry, strategyTable, USERS_TABLE, type Candidates } from '../../../src/serving/user-entry.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from './fit-sources.js';

type ListsOf = (ds: Dataset, fitted: FittedModels, serving: { candidates: number; strategyCandidates: number }) => (name: string, user: string) => Candidates;

/** A customer's list of one source as training stores it (`strategyLists: stored`)... */
const storedLists: ListsOf = (ds, fitted, serving) => {
  const built = buildServingModel({ ds, fitted, recipe: { serving: { ...serving, strategyLists: 'stored' } } });
  return (name, user) => decodeCandidates(new Map(built.tables.get(strategyTable(name))!).get(user)!);
};
/** ...and as serving scores it on request (the default), from the customer's history. */
const onRequestLists: ListsOf = (ds, fitted, serving) => {
  const build = buildServingModel({ ds, fitted, recipe: { serving } });
  expect([...build.tables.keys()]).toEqual([USERS_TABLE]);
  const score = createStrategyScorer({ fitted, options: servingOptions({ serving }), itemCount: ds.itemIds.length });
  const histories = datasetHistories(ds);
  return (name, user) => score(userContext(ds, histories, ds.userIndex.get(user)!), name)!;
};

describe.each([
  ['stored', storedLists, ['item-knn', 'content', 'cooccurrence']],
  // Scored alone, ALS ranks the whole catalogue; in a stored list it ranks what the blend's pool holds.
  ['scored on request', onRequestLists, ['item-knn', 'content', 'als', 'cooccurrence']],
] as const)('single-strategy lists of a hybrid with a discovery discount, %s', (_mode, listsOf, limitedNames) => {
  // ALS ranks the candidates the other sources found, in the blend and in its stored list; with 3 items
  // per source those are too few here for its own top 5, so the limited case checks the others there.
  it.each([
    ['discounts popular items', {}, ['item-knn', 'content', 'als', 'cooccurrence']],
    ['also takes only 3 items of each source (fewer than the 5 kept per strategy)', { sourceLimit: 3 }, limitedNames],
  ])("When the hybrid %s, Then each source's list is still the source's own ranking", (_what, extra, names) => {
    const { ds } = twoGroups();
    const { sources, hybrid: plain } = fitSources(ds);
    // Same blend, plus the discount: unbought items scaled by (1 + buyers)^-0.7 inside the hybrid.
    const hybrid = createHybrid(sources, { ...plain.config, popularityDiscount: 0.7, ...extra }, itemBuyerCounts(ds));
    const list = listsOf(ds, { sources, hybrid }, { candidates: 10, strategyCandidates: 5 });
    const histories = datasetHistories(ds);
    const scores = new Float32Array(ds.itemIds.length);
    for (const name of names) {
      for (const user of ['g-user0', 'k-user7']) {
        const u = ds.userIndex.get(user)!;
        const bought = new Set(histories[u].map((h) => h.item));
        sources.get(name)!.scoreUser(userContext(ds, histories, u), scores);
        // The source's own order, computed here without the builder: its best unbought items and its best
        // purchases (kept for excludePurchased=false), merged by score; items scoring <= 0 left out.
        const best = (pool: number[]) => pool.filter((i) => scores[i] > 0).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, 5);
        const all = [...scores.keys()];
        const own = [...best(all.filter((i) => !bought.has(i))), ...best(all.filter((i) => bought.has(i)))].sort((a, b) => scores[b] - scores[a] || a - b);
        const listed = [...list(name, user).items];
        // Equal scores may come in either order: compare the score sequences.
        expect(listed.map((i) => scores[i])).toEqual(own.map((i) => scores[i]));
      }
    }
  });
});

describe.each([
  ['stored', storedLists],
  ['scored on request', onRequestLists],
] as const)("ALS's list when the blend does not weigh ALS, %s", (_mode, listsOf) => {
  // Depth 2: purchases rank below it. Two kept per list: a customer's purchases fill ALS's first places.
  it.each([
    { depth: 2, kept: 5 },
    { depth: 1000, kept: 2 },
  ])("When the source depth is $depth and $kept are kept, Then the list's purchases rank by ALS's score wherever they fall, and its new items are ALS's best", ({ depth, kept }) => {
    const { ds } = twoGroups();
    const { sources, hybrid: plain } = fitSources(ds);
    const weights = { cold: { popularity: 1 }, warm: { 'item-knn': 1, popularity: 0.1 } };
    const hybrid = createHybrid(sources, { ...plain.config, weights, sourceDepth: depth });
    const list = listsOf(ds, { sources, hybrid }, { candidates: 10, strategyCandidates: kept });
    const histories = datasetHistories(ds);
    const scores = new Float32Array(ds.itemIds.length);
    let beyondDepth = 0;
    let ownFirst = 0;
    for (const user of ds.userIds) {
      const u = ds.userIndex.get(user)!;
      const bought = new Set(histories[u].map((h) => h.item));
      sources.get('als')!.scoreUser(userContext(ds, histories, u), scores);
      const ranked = [...scores.keys()].filter((i) => scores[i] > 0).sort((a, b) => scores[b] - scores[a] || a - b);
      // New items: ALS's best `depth` of them, as the blend's sources give theirs. Purchases: ALS's best of them all.
      const fresh = ranked.filter((i) => !bought.has(i)).slice(0, Math.min(depth, kept));
      const own = ranked.filter((i) => bought.has(i)).slice(0, kept);
      beyondDepth += own.filter((i) => ranked.indexOf(i) >= depth).length;
      ownFirst += ranked.slice(0, kept).every((i) => bought.has(i)) && fresh.length > 0 ? 1 : 0;
      const want = [...fresh, ...own].sort((a, b) => scores[b] - scores[a] || a - b);
      expect([...list('als', user).items].map((i) => scores[i])).toEqual(want.map((i) => scores[i]));
    }
    // The cases this is about happened: purchases ranked below the depth, which a list cut at the depth would
    // drop; and purchases in all the first places, where asking ALS for only as many items as kept finds no new one.
    expect(depth < 1000 ? beyondDepth : ownFirst).toBeGreaterThan(0);
  });
});

describe('serving entries of a hybrid with weights on own items', () => {
  it("When own items have weights of their own, Then a customer's stored purchases rank by those and the new items are the plain blend's", () => {
    const { ds } = twoGroups();
    const { sources, hybrid: plain } = fitSources(ds);
    // buy-again counts only on the customer's own items, where item-knn does not count at all.
    const repeatWeights = { cold: { 'buy-again': 1 }, warm: { 'buy-again': 2, content: 1 } };
    const hybrid = createHybrid(sources, { ...plain.config, repeatWeights });
    const entries = (h: typeof hybrid) => new Map(buildServingModel({ ds, fitted: { sources, hybrid: h }, recipe: { serving: { candidates: 10, strategyCandidates: 5 } } }).tables.get(USERS_TABLE)!);
    const [withRepeat, without] = [entries(hybrid), entries(plain)];
    const histories = datasetHistories(ds);
    const scores = new Float32Array(ds.itemIds.length);
    let reordered = 0;
    for (const user of ['g-user0', 'g-user5', 'k-user7', 'k-user11']) {
      const u = ds.userIndex.get(user)!;
      const entry = decodeUserEntry(withRepeat.get(user)!);
      const plainEntry = decodeUserEntry(without.get(user)!);
      const split = (e: typeof entry) => {
        const items = [...e.hybrid.items];
        return { own: items.filter((i) => e.purchased.includes(i)), fresh: items.filter((i) => !e.purchased.includes(i)) };
      };
      expect(split(entry).fresh).toEqual(split(plainEntry).fresh);
      // The purchases in the order of the hybrid's own scores, computed without the builder.
      hybrid.scoreUser(userContext(ds, histories, u), scores);
      const own = [...entry.purchased].filter((i) => scores[i] > 0).sort((a, b) => scores[b] - scores[a] || a - b);
      expect(split(entry).own.map((i) => scores[i])).toEqual(own.map((i) => scores[i]));
      if (split(entry).own.join() !== split(plainEntry).own.join()) reordered++;
    }
    expect(reordered).toBeGreaterThan(0);
  });
});
