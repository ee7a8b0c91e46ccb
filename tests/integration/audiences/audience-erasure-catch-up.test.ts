import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT, decodeAudienceArtifact, type StoredAudience } from '../../../src/audiences/audience-artifact.js';
import { rankAudience } from '../../../src/audiences/audience-index.js';
import { loadAudienceIndex } from '../../../src/audiences/audience-service.js';
import { createUserErasure } from '../../../src/privacy/user-erasure.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

/**
 * A replica of the release before (b978bd3 or older) knows the audience postings only as `serving-audience`
 * (layout 1): when it erases a customer it blanks their id in each version's user index, wipes their profiles
 * and recommender rows, deletes their entries and raises the erasure records, but leaves `serving-audience-2`
 * as it was, their postings in it. A process of this release that sees the erasure mark move wipes them
 * (user-erasure.ts catchUp, audienceRowsLeft), although the store's erasure records say nothing is behind.
 */
const redisBackend = STORE_BACKENDS.find((b) => b.name === 'redis store')!;

/** The store as a release that does not know `serving-audience-2` sees it: no such artifact. */
function withoutLayout2(store: ModelStore): ModelStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver) as unknown;
      if (typeof real !== 'function') return real;
      if (prop === 'getArtifact' || prop === 'readArtifactRange') {
        return (version: string, name: string, ...rest: unknown[]) => (name === AUDIENCE_ARTIFACT ? Promise.resolve(null) : (real as (...a: unknown[]) => unknown).call(target, version, name, ...rest));
      }
      if (prop === 'patchArtifact' || prop === 'redactArtifact') {
        return (version: string, name: string, ...rest: unknown[]) => (name === AUDIENCE_ARTIFACT ? Promise.resolve(false) : (real as (...a: unknown[]) => unknown).call(target, version, name, ...rest));
      }
      return (real as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

describe.skipIf(!(await serviceAvailable(REDIS_URL)) || !(await serviceAvailable(POSTGRES_URL)))('the audience postings of a customer a release before erased', () => {
  let t: TestApp;
  let testStore: TestStore;
  let recipesDir: string;
  let version: string;

  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'audience-catch-up-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    testStore = await redisBackend.create();
    // The reads of erasures are made by the tests, in the order they need: the API process's own, by its timer every
    // ERASURE_REFRESH_MS, would wipe the postings a test left for its own catch-up (the back-off test sleeps 3.6 s).
    t = await createTestApp({ createDb: createPostgresTestDb, store: testStore.store, env: { ERASURE_REFRESH_MS: '600000' } });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    });
    version = (await trainer.train()).version;
    await t.services.serving.refresh();
  }, 180_000);
  afterAll(async () => {
    await t?.app.close();
    await testStore?.dispose();
    await rm(recipesDir, { recursive: true, force: true });
  });

  /** Every product's audience (ids, scores, tiers) from an index loaded now. */
  async function everyAudience(model: ServingModel) {
    const { index } = await loadAudienceIndex(t.services.store, model);
    return model.items.ids.map((_, i) => rankAudience(index, { targets: [i], k: 40, gamma: 0.5, excludeBuyersSince: null }).map((m) => ({ id: index.userIds[m.user], score: m.score, tier: m.tier })));
  }

  it('When a replica of the release before erased a customer, Then the erasure catch-up wipes their postings from serving-audience-2 and leaves every audience as it was', async () => {
    const { store } = t.services;
    const model = (await t.services.serving.activeModel())!;
    expect(model.meta.version).toBe(version);
    const stored = async () => decodeAudienceArtifact((await store.getArtifact(version, AUDIENCE_ARTIFACT))!);
    const before = await stored();
    // A customer with candidate and buyer postings.
    const ids = decodeUserIdsArtifact((await store.getArtifact(version, ARTIFACT_USER_IDS))!);
    const { candidates, buyers } = before.postings;
    const c = [...before.positions.keys()].find((k) => candidates.users.includes(k) && buyers.users.includes(k))!;
    expect(c).toBeDefined();
    const row = before.positions[c];
    const erased = ids[row];
    expect(erased).toBeTruthy();

    // The release before's erasure: the real erasure, over a store in which serving-audience-2 does not exist.
    const old = createUserErasure({ events: t.services.events, erasures: t.services.erasureRepository, store: withoutLayout2(store), forget: async () => {} });
    expect(await old.erase(erased)).toBe(true);
    expect(decodeUserIdsArtifact((await store.getArtifact(version, ARTIFACT_USER_IDS))!)[row]).toBe('');
    const left = await stored();
    expect(left.postings.candidates.users.includes(c)).toBe(true);
    expect(left.wiped![c]).toBe(0);
    // It raised the erasure records as it does: they say the version is scrubbed through the mark.
    const mark = await t.services.erasureRepository.mark();
    expect((await store.erasureRecords!()).versions.get(version)).toBe(mark);
    const audiences = await everyAudience(model);
    expect(audiences.flat().some((m) => m.id === erased)).toBe(false);

    // What the erasure follower calls when it reads the mark moved.
    await t.services.erasure.catchUp(mark);

    const after = await stored();
    expect(after.wiped![c]).toBe(1);
    expect(after.positions).toEqual(before.positions);
    // The customer's postings are -1 with a zero score; every other posting and customer is as it was.
    const expectWithout = (b: Int32Array, a: Int32Array) => expect([...a]).toEqual([...b].map((u) => (u === c ? -1 : u)));
    expectWithout(candidates.users, after.postings.candidates.users);
    expectWithout(buyers.users, after.postings.buyers.users);
    expect([...after.postings.candidates.scores]).toEqual([...candidates.scores].map((s, p) => (candidates.users[p] === c ? 0 : s)));
    expect(after.postings.candidates.indptr).toEqual(candidates.indptr);
    expect(after.postings.buyers.indptr).toEqual(buyers.indptr);
    const others = (s: StoredAudience, col: 'orders' | 'lastTs') => [...s.postings.customers[col]].filter((_, k) => k !== c);
    expect(others(after, 'orders')).toEqual(others(before, 'orders'));
    expect(others(after, 'lastTs')).toEqual(others(before, 'lastTs'));
    expect(Number(after.postings.customers.orders[c])).toBe(0);
    expect(await everyAudience(model)).toEqual(audiences);

    // Nothing left to do: the next call with the same mark reads nothing more and rewrites nothing.
    await t.services.erasure.catchUp(mark);
    expect((await stored()).postings.candidates.users).toEqual(after.postings.candidates.users);
  });

  /** A customer of the version with candidate postings, not erased yet, erased by a replica of the release before; the artifact as it left it. */
  async function erasedByReleaseBefore() {
    const { store } = t.services;
    const left = decodeAudienceArtifact((await store.getArtifact(version, AUDIENCE_ARTIFACT))!);
    const ids = decodeUserIdsArtifact((await store.getArtifact(version, ARTIFACT_USER_IDS))!);
    const c = [...left.positions.keys()].find((k) => left.wiped![k] === 0 && ids[left.positions[k]] !== '' && left.postings.candidates.users.includes(k))!;
    expect(c).toBeDefined();
    const old = createUserErasure({ events: t.services.events, erasures: t.services.erasureRepository, store: withoutLayout2(store), forget: async () => {} });
    expect(await old.erase(ids[left.positions[c]])).toBe(true);
    const bytes = (await store.getArtifact(version, AUDIENCE_ARTIFACT))!;
    expect(decodeAudienceArtifact(bytes).wiped![c]).toBe(0);
    return { c, bytes, mark: await t.services.erasureRepository.mark() };
  }
  const wipedNow = async (c: number) => decodeAudienceArtifact((await t.services.store.getArtifact(version, AUDIENCE_ARTIFACT))!).wiped![c];

  it('When the store comes back from before a wipe and a replica of the release before scrubs it again (the erasure mark where it was), Then the catch-up wipes the postings again at its next periodic look', async () => {
    const { store } = t.services;
    const erasure = createUserErasure({ events: t.services.events, erasures: t.services.erasureRepository, store, forget: async () => {}, audienceRecheckMs: 0 });
    const { c, bytes, mark } = await erasedByReleaseBefore();
    await erasure.catchUp(mark);
    expect(await wipedNow(c)).toBe(1);
    // The restore brought the postings back, and the release before's scrub of it blanked the id again (it is blank
    // still): the artifact is as that replica leaves it, and no erasure was made, so the mark did not move.
    expect(await store.redactArtifact(version, AUDIENCE_ARTIFACT, bytes)).toBe(true);
    expect(await t.services.erasureRepository.mark()).toBe(mark);
    await erasure.catchUp(mark);
    expect(await wipedNow(c)).toBe(1);
  });

  it('When the store evicts the postings while the catch-up reads their arrays, Then the catch-up goes on (nothing of them is left to wipe) instead of failing whole until the next read', async () => {
    const { store } = t.services;
    const { c, bytes, mark } = await erasedByReleaseBefore();
    const redis = new Redis(REDIS_URL);
    let reads = 0;
    // A real eviction (the key deleted in Redis) between the layout read and the ranged reads of the arrays.
    const evicting = new Proxy(store, {
      get(target, prop, receiver) {
        const real = Reflect.get(target, prop, receiver) as unknown;
        if (typeof real !== 'function') return real;
        if (prop === 'readArtifactRange') {
          return async (v: string, name: string, start: number, end: number) => {
            // The postings' layout is read before the user index is: evicted after it, before their arrays are read.
            if (name === ARTIFACT_USER_IDS && ++reads === 1) await redis.del(`${testStore.prefix}{v:${v}}:artifact:${AUDIENCE_ARTIFACT}`);
            return target.readArtifactRange!(v, name, start, end);
          };
        }
        return (real as (...a: unknown[]) => unknown).bind(target);
      },
    });
    try {
      const erasure = createUserErasure({ events: t.services.events, erasures: t.services.erasureRepository, store: evicting, forget: async () => {} });
      await expect(erasure.catchUp(mark)).resolves.toEqual([]);
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(await store.getArtifact(version, AUDIENCE_ARTIFACT)).toBeNull();
      // An index read now is built from the entries, where the erased customer has none.
      const model = (await t.services.serving.activeModel())!;
      const loaded = await loadAudienceIndex(store, model);
      expect(loaded.rows).toBeUndefined();
      expect(loaded.index.userIds.includes('')).toBe(false);
    } finally {
      // The postings as the release before left them (as a restore would), for the tests after: wiped by the real catch-up.
      await redis.set(`${testStore.prefix}{v:${version}}:artifact:${AUDIENCE_ARTIFACT}`, Buffer.from(bytes));
      await redis.quit();
      await t.services.erasure.catchUp(mark + 1);
      expect(await wipedNow(c)).toBe(1);
    }
  });

  it('When the rewrite of the postings keeps failing, Then the catch-up does not read the whole artifact again at every read of the erasures but after a back-off', async () => {
    const { store } = t.services;
    let wholeReads = 0;
    const failing = new Proxy(store, {
      get(target, prop, receiver) {
        const real = Reflect.get(target, prop, receiver) as unknown;
        if (typeof real !== 'function') return real;
        if (prop === 'getArtifact') {
          return (v: string, name: string) => {
            if (name === AUDIENCE_ARTIFACT) wholeReads++;
            return target.getArtifact(v, name);
          };
        }
        if (prop === 'redactArtifact') {
          return (v: string, name: string, data: Uint8Array) =>
            name === AUDIENCE_ARTIFACT ? Promise.reject(new Error('OOM command not allowed when used memory > \'maxmemory\'')) : target.redactArtifact(v, name, data);
        }
        return (real as (...a: unknown[]) => unknown).bind(target);
      },
    });
    const erasure = createUserErasure({ events: t.services.events, erasures: t.services.erasureRepository, store: failing, forget: async () => {}, audienceRetryMs: { min: 3000, max: 60_000 } });
    const { c, mark } = await erasedByReleaseBefore();
    await expect(erasure.catchUp(mark)).rejects.toThrow(/OOM/);
    expect(wholeReads).toBe(1);
    // What the erasure follower does every ERASURE_REFRESH_MS: in the back-off, nothing is read whole.
    for (let k = 0; k < 3; k++) await erasure.catchUp(mark).catch(() => {});
    expect(wholeReads).toBe(1);
    await new Promise((r) => setTimeout(r, 3100));
    await expect(erasure.catchUp(mark)).rejects.toThrow(/OOM/);
    expect(wholeReads).toBe(2);
    // The back-off doubled (6 s): not yet.
    await new Promise((r) => setTimeout(r, 500));
    await erasure.catchUp(mark).catch(() => {});
    expect(wholeReads).toBe(2);
    // A process whose store takes the rewrite wipes them.
    await t.services.erasure.catchUp(mark + 1);
    expect(await wipedNow(c)).toBe(1);
  }, 60_000);
});
