import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { forgetUserEntries, NO_PURCHASES_RECHECK_MS, recommendForUser } from '../../../src/serving/recommend-for-user.js';
import type { ServingDeps } from '../../../src/serving/serving-deps.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { loadServingModel, type ServingModel } from '../../../src/serving/serving-model.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from './fit-sources.js';
import { publishVersion, purchaseRowsOf } from './on-request-fixture.js';

const { ds } = twoGroups();
const fitted = fitSources(ds);

describe('a customer the version does not know, without purchases', () => {
  let store: ModelStore;
  let version: ServingModel;
  beforeAll(async () => {
    store = await createMemoryModelStore();
    version = await publishVersion(store, 'v1', buildServingModel({ ds, fitted, recipe: { serving: { candidates: 10 } } }), fitted);
  });
  afterEach(() => vi.useRealTimers());

  /** Serving of a fresh copy of the version, with a Postgres stand-in that logs its reads. */
  const serving = async (purchases: (userId: string) => PurchaseRow[]) => {
    const model = (await loadServingModel(store, version.meta))!;
    const reads: string[] = [];
    const deps: ServingDeps = {
      model: async () => model,
      store,
      catalog: {
        getUser: async (id) => (reads.push(`user ${id}`), { attributes: { country: 'UK' } }),
        getItem: async () => null,
        getItems: async () => [],
      },
      purchases: async (id) => (reads.push(`purchases ${id}`), purchases(id)),
      dbPopular: undefined as unknown as ServingDeps['dbPopular'],
    };
    return { model, deps, reads };
  };

  it('When they ask again within the recheck time, Then Postgres is not read again, and the answer is the same cold start', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { deps, reads } = await serving(() => []);
    const first = await recommendForUser(deps, 'new-customer', { k: 5 });
    expect(first.fallback).toBe(true);
    expect(reads.sort()).toEqual(['purchases new-customer', 'user new-customer']);
    vi.advanceTimersByTime(NO_PURCHASES_RECHECK_MS - 1000);
    const again = await recommendForUser(deps, 'new-customer', { k: 5 });
    expect(reads).toHaveLength(2);
    // The segment still comes from their record (UK): the same items.
    expect(again.items).toEqual(first.items);
  });

  it('When purchases are imported for them, Then the recheck after the recheck time scores them', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let imported = false;
    const { deps, reads } = await serving(() => (imported ? purchaseRowsOf(ds, 'g-user3').map((r) => ({ ...r, userId: 'new-customer' })) : []));
    expect((await recommendForUser(deps, 'new-customer', { k: 5 })).fallback).toBe(true);
    imported = true;
    vi.advanceTimersByTime(NO_PURCHASES_RECHECK_MS + 1);
    const scored = await recommendForUser(deps, 'new-customer', { k: 5 });
    expect(scored.fallback).toBe(false);
    expect(reads.filter((r) => r.startsWith('purchases'))).toHaveLength(2);
  });

  it('When they are erased, Then nothing of their record is kept', async () => {
    const { model, deps } = await serving(() => []);
    await recommendForUser(deps, 'new-customer', { k: 5 });
    expect(model.entries.get('!no-purchases\u0000new-customer')).toMatchObject({ user: { attributes: { country: 'UK' } } });
    forgetUserEntries(model, 'new-customer');
    expect(model.entries.get('!no-purchases\u0000new-customer')).toBeNull();
  });

  it('When Postgres is down, Then nothing is kept and the next request reads again', async () => {
    let down = true;
    const { deps, reads } = await serving(() => {
      if (down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return [];
    });
    expect((await recommendForUser(deps, 'new-customer', { k: 5 })).fallback).toBe(true);
    down = false;
    await recommendForUser(deps, 'new-customer', { k: 5 });
    expect(reads.filter((r) => r.startsWith('purchases'))).toHaveLength(2);
  });
});
