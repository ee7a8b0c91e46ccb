import { describe, expect, it } from 'vitest';
import { datasetHistories, distinctOrderCount, userContext } from '../../../src/recommenders/history.js';
import { blendWeights, createHybrid } from '../../../src/recommenders/hybrid.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { decodeCandidates, strategyTable } from '../../../src/serving/user-entry.js';
import { fitSources } from './fit-sources.js';
import { longTailShop } from '../recommenders/long-tail-shop.fixture.js';

describe("a stored ALS list when it keeps more than the blend's sourceLimit", () => {
  it("When strategyCandidates > sourceLimit, Then the stored ALS list is ALS's brute-force best of the blend's pool: its strategyCandidates best new items and its best purchases", () => {
    const ds = longTailShop();
    const names = ['popularity', 'item-knn', 'cooccurrence', 'als'];
    const { sources } = fitSources(ds, names);
    const sourceLimit = 10;
    const kept = 25;
    const config = {
      weights: { cold: { popularity: 1 }, warm: { 'item-knn': 1, cooccurrence: 0.5, als: 0.5, popularity: 0.1 } },
      fullHistoryOrders: 3,
      normalisation: 'max' as const,
      sourceLimit,
    };
    const hybrid = createHybrid(sources, config);
    const built = buildServingModel({ ds, fitted: { sources, hybrid }, recipe: { serving: { candidates: 10, strategyCandidates: kept, strategyLists: 'stored' } } });
    const lists = new Map(built.tables.get(strategyTable('als'))!);
    const histories = datasetHistories(ds);
    const n = ds.itemIds.length;
    const scores = new Float32Array(n);
    const byScore = (a: number, b: number) => scores[b] - scores[a] || a - b;
    let deeper = 0;
    let checked = 0;
    for (let u = 0; u < ds.userIds.length; u++) {
      const ctx = userContext(ds, histories, u);
      const weights = blendWeights(config, distinctOrderCount(ctx.history));
      if (!(weights.als > 0)) continue;
      const bought = new Set(ctx.history.map((h) => h.item));
      // The blend's pool, by brute force: each other weighted source's sourceLimit best new items and its positive
      // scores of the customer's purchases (every source scored densely, sorted here).
      const pool = new Set<number>();
      for (const name of names) {
        if (name === 'als' || !(weights[name] > 0)) continue;
        sources.get(name)!.scoreUser(ctx, scores);
        const positive = [...scores.keys()].filter((i) => scores[i] > 0).sort(byScore);
        for (const i of positive.filter((i) => !bought.has(i)).slice(0, sourceLimit)) pool.add(i);
        for (const i of positive.filter((i) => bought.has(i))) pool.add(i);
      }
      if (pool.size === 0) continue;
      sources.get('als')!.scoreUser(ctx, scores);
      const ranked = [...pool].filter((i) => scores[i] > 0).sort(byScore);
      const fresh = ranked.filter((i) => !bought.has(i)).slice(0, kept);
      const own = ranked.filter((i) => bought.has(i)).slice(0, kept);
      const want = [...fresh, ...own].sort(byScore);
      const got = [...decodeCandidates(lists.get(ds.userIds[u])!).items];
      expect(got.map((i) => scores[i])).toEqual(want.map((i) => scores[i]));
      checked++;
      if (fresh.length > sourceLimit) deeper++;
    }
    // The case at stake happened: lists with more new items than the blend takes of ALS.
    expect(checked).toBeGreaterThan(20);
    expect(deeper).toBeGreaterThan(10);
  });
});
