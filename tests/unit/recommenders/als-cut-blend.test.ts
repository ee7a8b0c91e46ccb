import { describe, expect, it } from 'vitest';
import { alsFactory } from '../../../src/recommenders/als.js';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import { createBlendScratch, createHybrid } from '../../../src/recommenders/hybrid.js';
import type { Recommender } from '../../../src/recommenders/recommender.js';
import { recommenderFactory } from '../../../src/recommenders/registry.js';
import { longTailShop } from './long-tail-shop.fixture.js';

describe('a blend whose ALS ranks the pool with a cut', () => {
  it.each(['max', 'minmax', 'rank'] as const)(
    'When the blend has a sourceLimit (%s normalisation), Then every customer blend is the one an ALS that scores every pool candidate gives',
    (normalisation) => {
      const ds = longTailShop();
      const sources = new Map<string, Recommender>();
      for (const [name, params] of [['popularity', { minSegmentBuyers: 5, halfLifeDays: null }], ['item-knn', { shrink: 0 }], ['cooccurrence', { minSupport: 2 }]] as const) {
        const f = recommenderFactory(name)!;
        sources.set(name, f.fit(ds, f.parseParams(params)));
      }
      const als = alsFactory.fit(ds, alsFactory.parseParams({ factors: 8, iterations: 6 }));
      // The same ALS without the cut: every candidate scored, as before scoreCandidates took one.
      const uncut: Recommender = { ...als, name: 'als', scoreUser: als.scoreUser.bind(als), toArtifact: als.toArtifact.bind(als), scoreSparse: als.scoreSparse!.bind(als), scoreCandidates: (ctx, items, out) => als.scoreCandidates!(ctx, items, out) };
      const config = {
        weights: { cold: { popularity: 1 }, warm: { 'item-knn': 1, cooccurrence: 0.5, als: 0.7, popularity: 0.1 } },
        fullHistoryOrders: 3,
        normalisation,
        rankDepth: 30,
        sourceLimit: 6,
      };
      const cut = createHybrid(new Map([...sources, ['als', als]]), config);
      const plain = createHybrid(new Map([...sources, ['als', uncut]]), config);
      const histories = datasetHistories(ds);
      const n = ds.itemIds.length;
      const [a, b] = [createBlendScratch(n), createBlendScratch(n)];
      const pairs = (s: typeof a) => Array.from({ length: s.blend.size }, (_, p) => s.blend.item(p)).sort((x, y) => x - y).map((i) => [i, s.blend.values[i]]);
      let cutShort = 0;
      for (let u = 0; u < ds.userIds.length; u++) {
        const ctx = userContext(ds, histories, u);
        cut.blendSparse(ctx, a);
        plain.blendSparse(ctx, b);
        expect(pairs(a)).toEqual(pairs(b));
        if ((a.sources.get('als')?.raw.size ?? 0) < (b.sources.get('als')?.raw.size ?? 0)) cutShort++;
      }
      expect(cutShort).toBeGreaterThan(20);
    },
  );
});
