import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { createHybrid } from '../../../src/recommenders/hybrid.js';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { forgetUserEntries, onRequestScorerOf, recommendForUser } from '../../../src/serving/recommend-for-user.js';
import { DEGRADED, UNLISTED } from '../../../src/serving/recommendation.js';
import type { ServingDeps } from '../../../src/serving/serving-deps.js';
import { buildServingModel, type ServingModelBuild } from '../../../src/serving/serving-model-builder.js';
import { loadServingModel, type ServingModel } from '../../../src/serving/serving-model.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { strategyTable } from '../../../src/serving/user-entry.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { publishVersion, purchaseRowsOf } from './on-request-fixture.js';
import { fitSources } from './fit-sources.js';

const { ds } = twoGroups();
const fitted = fitSources(ds);
// The blend does not weigh these for a customer with two orders (ALS is pooled where it is): their lists
// alone are the same whether stored at training time or scored from the same purchases on request.
const SAME_EITHER_WAY = ['item-knn', 'content', 'cooccurrence', 'buy-again'];

const purchasesOf = (userId: string) => purchaseRowsOf(ds, userId);

const published = (store: ModelStore, version: string, build: ServingModelBuild, recommenders = true) => publishVersion(store, version, build, recommenders ? fitted : null);

describe('single-strategy lists scored on request', () => {
  let store: ModelStore;
  let stored: ServingModel;
  let onRequest: ServingModel;
  let bare: ServingModel;
  beforeAll(async () => {
    store = await createMemoryModelStore();
    const serving = { candidates: 10, strategyCandidates: 8 };
    stored = await published(store, 'stored', buildServingModel({ ds, fitted, recipe: { serving: { ...serving, strategyLists: 'stored' } } }));
    onRequest = await published(store, 'on-request', buildServingModel({ ds, fitted, recipe: { serving } }));
    bare = await published(store, 'bare', buildServingModel({ ds, fitted, recipe: { serving } }), false);
  });

  /** The version as a process that has not served anyone yet holds it (nothing kept from other tests). */
  const reloaded = async (model: ServingModel) => (await loadServingModel(store, model.meta))!;

  /** Serving of one version, with a Postgres stand-in that counts its reads (and can be made to fail or wait). */
  const servingOf = (model: ServingModel, purchases: (userId: string) => Promise<PurchaseRow[]> = async (id) => purchasesOf(id)) => {
    const reads: string[] = [];
    const deps: ServingDeps = {
      model: async () => model,
      store,
      catalog: { getUser: async () => null, getItem: async () => null, getItems: async () => [] },
      purchases: (userId) => {
        reads.push(userId);
        return purchases(userId);
      },
      dbPopular: undefined as unknown as ServingDeps['dbPopular'],
    };
    return { deps, reads };
  };

  it('When every precomputed customer asks for a source the blend does not pool, Then the answer scored on request is the stored one', async () => {
    const a = servingOf(stored);
    const b = servingOf(onRequest);
    let compared = 0;
    for (const userId of ds.userIds) {
      for (const strategy of SAME_EITHER_WAY) {
        for (const excludePurchased of [true, false]) {
          const q = { k: 8, strategy, excludePurchased };
          const [want, got] = [await recommendForUser(a.deps, userId, q), await recommendForUser(b.deps, userId, q)];
          expect(got.fallback).toBe(false);
          expect(got.items, `${userId} ${strategy}`).toEqual(want.items);
          compared += got.items.length;
        }
      }
    }
    expect(compared).toBeGreaterThan(ds.userIds.length * SAME_EITHER_WAY.length);
    // The stored version never read Postgres; the other read each customer's purchases once per strategy.
    expect(a.reads).toEqual([]);
    expect(b.reads).toHaveLength(ds.userIds.length * SAME_EITHER_WAY.length);
  });

  it("When ALS's list is asked, Then it is ALS's own ranking of the catalogue, not only of the blend's pool", async () => {
    // A blend that takes 3 items of each source: ALS ranks that pool, too small to hold its own best 5.
    const limited = { sources: fitted.sources, hybrid: createHybrid(fitted.sources, { ...fitted.hybrid.config, sourceLimit: 3 }) };
    const serving = { candidates: 10, strategyCandidates: 8 };
    const scoredVersion = await publishVersion(store, 'limited', buildServingModel({ ds, fitted: limited, recipe: { serving } }), limited);
    const storedVersion = await publishVersion(store, 'limited-stored', buildServingModel({ ds, fitted: limited, recipe: { serving: { ...serving, strategyLists: 'stored' } } }), limited);
    const { deps } = servingOf(scoredVersion);
    const histories = datasetHistories(ds);
    const scores = new Float32Array(ds.itemIds.length);
    let beyondPool = 0;
    for (const userId of ds.userIds) {
      const answer = await recommendForUser(deps, userId, { k: 5, strategy: 'als' });
      expect(answer.fallback).toBe(false);
      const u = ds.userIndex.get(userId)!;
      const bought = new Set(histories[u].map((h) => h.item));
      fitted.sources.get('als')!.scoreUser(userContext(ds, histories, u), scores);
      // ALS's best five items the customer has not bought, over the whole catalogue.
      const best = [...scores.keys()].filter((i) => !bought.has(i) && scores[i] > 0).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, 5);
      expect(answer.items.map((i) => scores[ds.itemIndex.get(i.itemId)!]), userId).toEqual(best.map((i) => scores[i]));
      // The stored list ranks only the pool the blend found: where it differs, the pool lacked ALS's best.
      const fromTable = await recommendForUser(servingOf(storedVersion).deps, userId, { k: 5, strategy: 'als' });
      if (fromTable.items.map((i) => i.itemId).join() !== answer.items.map((i) => i.itemId).join()) beyondPool++;
    }
    expect(beyondPool).toBeGreaterThan(0);
  });

  it('When a customer asks again, Then the list kept for the version answers without a Postgres read; another strategy reads once', async () => {
    const { deps, reads } = servingOf(await reloaded(onRequest));
    const first = await recommendForUser(deps, 'k-user3', { k: 5, strategy: 'content' });
    expect(first.fallback).toBe(false);
    // Another query of the same list (its answer is not the one kept in the answer cache).
    const again = await recommendForUser(deps, 'k-user3', { k: 3, strategy: 'content' });
    expect(again.items).toEqual(first.items.slice(0, 3));
    expect(reads).toEqual(['k-user3']);
    await recommendForUser(deps, 'k-user3', { k: 5, strategy: 'item-knn' });
    expect(reads).toEqual(['k-user3', 'k-user3']);
  });

  it('When Postgres is down, Then the list is scored from what the version holds, said to be a fallback and not kept; once it is back, from Postgres', async () => {
    let down = true;
    const model = await reloaded(onRequest);
    const { deps, reads } = servingOf(model, async (id) => {
      if (down) throw new AppError('DEPENDENCY_UNAVAILABLE');
      return purchasesOf(id);
    });
    await onRequestScorerOf(deps, model);
    const q = { k: 5, strategy: 'item-knn' };
    const during = await recommendForUser(deps, 'g-user4', q);
    expect(during.fallback).toBe(true);
    expect(during[DEGRADED]).toBe(true);
    expect(during[UNLISTED]).toBeUndefined();
    expect(during.items[0].sources[0]).toBe('item-knn');
    // The customer's purchases are not recommended back: the held history is theirs.
    const bought = new Set(purchasesOf('g-user4').map((r) => r.itemId));
    expect(during.items.some((i) => bought.has(i.itemId))).toBe(false);
    // Not kept: the next request during the outage tries Postgres again.
    await recommendForUser(deps, 'g-user4', q);
    down = false;
    const after = await recommendForUser(deps, 'g-user4', q);
    expect(after.fallback).toBe(false);
    expect(after.items[0].sources[0]).toBe('item-knn');
    expect(reads).toEqual(['g-user4', 'g-user4', 'g-user4']);
    // The fixture's customers have fewer purchases than the 20 whose times the version holds, so what it holds
    // is their whole history (quantities aside), and item-kNN gives the list Postgres gives.
    expect(during.items).toEqual(after.items);
  });

  it('When the recommenders are still loading past the wait, Then popularity answers, said so, and is not kept: the next ask gets the list', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const model = await reloaded(onRequest);
    const { deps } = servingOf(model);
    deps.store = Object.assign(Object.create(store) as ModelStore, {
      getArtifact: async (version: string, name: string) => {
        if (name === 'recommender:hybrid') await held;
        return store.getArtifact(version, name);
      },
    });
    deps.loadWaitMs = 20;
    const waiting = await recommendForUser(deps, 'g-user5', { k: 5, strategy: 'item-knn' });
    expect(waiting.fallback).toBe(true);
    expect(waiting[UNLISTED]).toBe(true);
    expect(waiting.items.every((i) => i.sources[0] === 'popularity')).toBe(true);
    release();
    await model.onRequest;
    const loaded = await recommendForUser(deps, 'g-user5', { k: 5, strategy: 'item-knn' });
    expect(loaded.fallback).toBe(false);
    expect(loaded.items[0].sources[0]).toBe('item-knn');
  });

  it('When the version kept no recommenders to score with, Then a single strategy answers popularity, said to be a fallback', async () => {
    const { deps } = servingOf(bare);
    const answer = await recommendForUser(deps, 'g-user2', { k: 5, strategy: 'item-knn' });
    expect(answer.fallback).toBe(true);
    expect(answer.items.length).toBe(5);
    expect(answer.items.every((i) => i.sources[0] === 'popularity')).toBe(true);
    // The hybrid, stored per customer, is unaffected.
    expect((await recommendForUser(deps, 'g-user2', { k: 5 })).fallback).toBe(false);
  });

  it('When a customer the version did not precompute is erased while their purchases are read for a list, Then they get a cold start and nothing of them is kept', async () => {
    // Only customers with a purchase in the last day of the data are precomputed.
    const recent = await published(store, 'recent', buildServingModel({ ds, fitted, recipe: { serving: { candidates: 10, strategyCandidates: 8, precomputeDays: 1 } } }));
    const absent = ds.userIds.filter((_, k) => k % 2 === 0);
    const entries = await store.getEntries('recent', 'serving-users', absent);
    const userId = absent.find((_, k) => entries[k] === null)!;
    expect(userId).toBeDefined();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const model = await reloaded(recent);
    let holding = true;
    const { deps, reads } = servingOf(model, async (id) => {
      if (holding) await held;
      return purchasesOf(id);
    });
    await onRequestScorerOf(deps, model);
    const asking = recommendForUser(deps, userId, { k: 5, strategy: 'item-knn' });
    await new Promise((r) => setTimeout(r, 10));
    forgetUserEntries(model, userId);
    holding = false;
    release();
    const answer = await asking;
    expect(answer.fallback).toBe(true);
    expect(answer.items.every((i) => i.sources[0] !== 'item-knn')).toBe(true);
    expect(model.entries.get(`serving-users\u0000${userId}`)).toBeNull();
    expect(model.entries.get(`${strategyTable('item-knn')}\u0000${userId}`)).toBeNull();
    // Asked again: a cold start with no read; the same customer asked of a version that kept them is scored (the check can fail).
    const readsBefore = reads.length;
    expect((await recommendForUser(deps, userId, { k: 5, strategy: 'item-knn' })).fallback).toBe(true);
    expect(reads).toHaveLength(readsBefore);
    const elsewhere = servingOf(await reloaded(recent));
    expect((await recommendForUser(elsewhere.deps, userId, { k: 5, strategy: 'item-knn' })).items[0].sources[0]).toBe('item-knn');
  });

  // An erased customer's list must not outlive the erasure in this process: it is made of their purchases.
  it.each(['their purchases', 'their live events'] as const)('When a customer is erased while %s are read, Then their list is used at most once and not kept', async (during) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const model = await reloaded(onRequest);
    let holding = false;
    const { deps, reads } = servingOf(model, async (id) => {
      if (holding && during === 'their purchases') await held;
      return purchasesOf(id);
    });
    const events = deps.store.getUserEvents.bind(deps.store);
    deps.store = Object.assign(Object.create(store) as ModelStore, {
      getUserEvents: async (id: string) => {
        if (holding && during === 'their live events') await held;
        return events(id);
      },
    });
    // The customer's entry is already held, so the live-events read is the only one before the list's.
    await recommendForUser(deps, 'k-user5', { k: 5 });
    holding = true;
    const asking = recommendForUser(deps, 'k-user5', { k: 5, strategy: 'cooccurrence' });
    await new Promise((r) => setTimeout(r, 10));
    forgetUserEntries(model, 'k-user5');
    release();
    await asking;
    expect(model.entries.get(`${strategyTable('cooccurrence')}\u0000k-user5`)).toBeNull();
    // The next answer is the cold start of a customer the version does not know, with no read.
    const readsBefore = reads.length;
    const next = await recommendForUser(deps, 'k-user5', { k: 5, strategy: 'cooccurrence' });
    expect(next.fallback).toBe(true);
    expect(reads).toHaveLength(readsBefore);
  });
});
