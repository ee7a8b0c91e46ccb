import { describe, expect, it } from 'vitest';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import type { Recommender, RecommenderFactory, UserContext } from '../../../src/recommenders/recommender.js';
import { recommenderFactories } from '../../../src/recommenders/registry.js';
import { TopKHeap } from '../../../src/recommenders/top-k-heap.js';
import { twoGroups } from './two-groups.fixture.js';

/**
 * One behavioural suite for every registered recommender (new ones join by registering). Params
 * fitted to the small fixture: popularity needs segments of 12 buyers, co-occurrence pairs seen 4 times.
 */
const FIXTURE_PARAMS: Record<string, unknown> = {
  popularity: { minSegmentBuyers: 5 },
  cooccurrence: { minSupport: 2 },
};

const { ds, groupOfItem, groupOfUser } = twoGroups();
const histories = datasetHistories(ds);
const users = ds.userIds.map((_, u) => u);

function scores(model: Recommender, ctx: UserContext): Float32Array {
  const out = new Float32Array(ds.itemIds.length);
  model.scoreUser(ctx, out);
  return out;
}

/** Top-k items with a positive score, optionally skipping some. */
function top(s: Float32Array, k: number, skip: Set<number> = new Set()): number[] {
  const heap = new TopKHeap(k);
  s.forEach((v, i) => v > 0 && !skip.has(i) && heap.push(i, v));
  return heap.result().map((n) => n.item);
}

const factories = Object.entries(recommenderFactories) as [string, RecommenderFactory<unknown>][];

describe.each(factories)('recommender %s on two disjoint groups', (name, factory) => {
  const params = factory.parseParams(FIXTURE_PARAMS[name] ?? {});
  const model = factory.fit(ds, params);

  it('never recommends an item of the other group to a known user, bought items excluded', () => {
    for (const u of users) {
      const bought = new Set(histories[u].map((h) => h.item));
      // Each user has exactly two unbought in-group items, so the first two must be those when anything is said.
      const picks = top(scores(model, userContext(ds, histories, u)), 2, bought);
      expect(picks.map(groupOfItem).filter((g) => g !== groupOfUser(u))).toEqual([]);
    }
  });

  it('has something to say about every known user, and it stays in the group', () => {
    for (const u of users) {
      const picks = top(scores(model, userContext(ds, histories, u)), 4);
      expect(picks.length).toBeGreaterThan(0);
      expect(picks.map(groupOfItem).filter((g) => g !== groupOfUser(u))).toEqual([]);
    }
  });

  it('keeps a cold visitor with one cart item and a country inside that group', () => {
    const g0 = ds.itemIndex.get('g0')!;
    const ctx: UserContext = { user: -1, history: [{ item: g0, ts: ds.now, quantity: 1, order: 'cart' }], attributes: { country: 'UK' } };
    const picks = top(scores(model, ctx), 3, new Set([g0]));
    expect(picks.map(groupOfItem).filter((g) => g !== 'g')).toEqual([]);
  });

  it('gives in-group similar items when it is item-based', () => {
    if (!model.similarItems) return;
    for (let i = 0; i < ds.itemIds.length; i++) {
      const similar = model.similarItems(i, 3).filter((n) => n.score > 0);
      expect(similar.length).toBeGreaterThan(0);
      expect(similar.map((n) => groupOfItem(n.item)).filter((g) => g !== groupOfItem(i))).toEqual([]);
      expect(similar.map((n) => n.item)).not.toContain(i);
    }
  });

  it('is deterministic: a second fit with the same params scores identically', () => {
    const again = factory.fit(ds, factory.parseParams(FIXTURE_PARAMS[name] ?? {}));
    for (const u of users) expect(scores(again, userContext(ds, histories, u))).toEqual(scores(model, userContext(ds, histories, u)));
  });

  it('round-trips through its artifact with identical scores and neighbours', () => {
    const loaded = factory.fromArtifact(model.toArtifact(), ds);
    expect(loaded.name).toBe(model.name);
    for (const u of users) expect(scores(loaded, userContext(ds, histories, u))).toEqual(scores(model, userContext(ds, histories, u)));
    if (model.similarItems) {
      for (let i = 0; i < ds.itemIds.length; i++) expect(loaded.similarItems!(i, 5)).toEqual(model.similarItems(i, 5));
    }
  });

  it('loads against a reordered catalogue with a new item, scoring every item by id as before', () => {
    const itemIds = ['new-item', ...[...ds.itemIds].reverse()];
    const loaded = factory.fromArtifact(model.toArtifact(), { itemIds });
    const current = new Map(itemIds.map((id, i) => [id, i]));
    for (const u of users.slice(0, 4)) {
      const before = scores(model, userContext(ds, histories, u));
      const ctx = userContext(ds, histories, u);
      const after = new Float32Array(itemIds.length);
      loaded.scoreUser({ ...ctx, history: ctx.history.map((h) => ({ ...h, item: current.get(ds.itemIds[h.item])! })) }, after);
      ds.itemIds.forEach((id, i) => expect(after[current.get(id)!]).toBeCloseTo(before[i], 5));
    }
  });

  it('rejects an unknown hyperparameter, naming it', () => {
    expect(() => factory.parseParams({ noSuchParam: 1 })).toThrow(/noSuchParam/);
  });
});
