import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT, decodeAudienceArtifact } from '../../../src/audiences/audience-artifact.js';
import { createProfileService } from '../../../src/profiles/profile-service.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

const ALS = 'recommender:als';
const ERASED = 'k-user7';

/**
 * What an erasure leaves in Redis, read key by key under the store's prefix (every key the store wrote,
 * whatever it is named): nothing of the erased customer in any kept version, neither their id (in a key,
 * a hash field, a value) nor their ALS factor's bytes, now that ALS's rows are wiped in place instead of
 * the artifact being rewritten whole, nor their profile's, nor their place in the audience postings; and the
 * erasure reads none of those artifacts whole.
 */
const redisBackend = STORE_BACKENDS.find((b) => b.name === 'redis store')!;
describe.skipIf(!(await serviceAvailable(REDIS_URL)))('the bytes of an erased customer in the model store', () => {
  let t: TestApp;
  let testStore: TestStore;
  let recipesDir: string;
  let redis: Redis;
  const versions: string[] = [];

  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'erasure-bytes-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    testStore = await redisBackend.create();
    redis = new Redis(REDIS_URL);
    t = await createTestApp({ createDb: createPgliteTestDb, store: testStore.store });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', storeRecommenders: true, erasures: t.services.erasure,
    });
    for (let k = 0; k < 2; k++) versions.push((await trainer.train()).version);
    await t.services.serving.refresh();
  }, 120_000);
  afterAll(async () => {
    await t.app.close();
    await redis.quit();
    await testStore.dispose();
    await rm(recipesDir, { recursive: true, force: true });
  });

  /** Every key under the store's prefix, with every byte string it holds (hash fields and values, list and set members). */
  async function everything(): Promise<{ key: string; parts: Buffer[] }[]> {
    const out: { key: string; parts: Buffer[] }[] = [];
    for await (const batch of redis.scanStream({ match: `${testStore.prefix}*`, count: 1000 })) {
      for (const key of batch as string[]) {
        const type = await redis.type(key);
        let parts: Buffer[] = [];
        if (type === 'string') parts = [(await redis.getBuffer(key))!];
        else if (type === 'hash') parts = await redis.hgetallBuffer(key).then((h) => Object.entries(h).flatMap(([f, v]) => [Buffer.from(f), v]));
        else if (type === 'list') parts = await redis.lrangeBuffer(key, 0, -1);
        else if (type === 'set') parts = await redis.smembersBuffer(key);
        else if (type === 'zset') parts = await redis.zrangeBuffer(key, 0, -1);
        else throw new Error(`key ${key} of type ${type}: not read by this test`);
        out.push({ key, parts });
      }
    }
    return out;
  }

  /** Where the store holds any of `needles`: `key` (in its name) or `key: needle k`. */
  async function holding(needles: Buffer[]): Promise<string[]> {
    const found: string[] = [];
    for (const { key, parts } of await everything()) {
      needles.forEach((needle, k) => {
        if (Buffer.from(key).includes(needle)) found.push(`${key} (name): needle ${k}`);
        if (parts.some((p) => p.includes(needle))) found.push(`${key}: needle ${k}`);
      });
    }
    return found;
  }

  it('When a customer is erased, Then no key of any kept version holds their id or their ALS factor, and the others\' factors are kept', async () => {
    const store = t.services.store;
    // Each version's ALS row of the customer, and another customer's, as stored before the erasure.
    const rowsOf = async (version: string, id: string) => {
      const index = decodeUserIdsArtifact((await store.getArtifact(version, ARTIFACT_USER_IDS))!);
      const { header, arrays } = decodeArtifact((await store.getArtifact(version, ALS))!);
      const k = (header.params as { factors: number }).factors;
      const u = index.indexOf(id);
      expect(u).toBeGreaterThanOrEqual(0);
      const factors = arrays.userFactors as Float32Array;
      return Buffer.from(factors.slice(u * k, (u + 1) * k).buffer);
    };
    const fresh = () => createProfileService({ store, events: t.services.events, catalog: t.services.catalog });
    const reportBefore = (await fresh().report())!;
    const segmentOfErased = (await fresh().profile(ERASED))!.segment;
    const erasedFactors = await Promise.all(versions.map((v) => rowsOf(v, ERASED)));
    const keptFactors = await Promise.all(versions.map((v) => rowsOf(v, 'g-user4')));
    // A learned factor is no run of zeros, so finding it is finding the customer.
    for (const f of erasedFactors) expect(f.some((b) => b !== 0)).toBe(true);
    const needles = [Buffer.from(ERASED), ...erasedFactors];
    // Each version's audience postings (audience-artifact.ts): where the customer is, and that postings name them.
    const postingsOf = async (version: string) => decodeAudienceArtifact((await store.getArtifact(version, AUDIENCE_ARTIFACT))!);
    const places = await Promise.all(versions.map(async (v) => {
      const u = decodeUserIdsArtifact((await store.getArtifact(v, ARTIFACT_USER_IDS))!).indexOf(ERASED);
      return (await postingsOf(v)).positions.indexOf(u);
    }));
    const heldIn = async (version: string, c: number) => {
      const { postings } = await postingsOf(version);
      const { indptr } = postings.customers.recent;
      return postings.candidates.users.includes(c) || postings.buyers.users.includes(c) || postings.customers.orders[c] !== 0 || indptr[c + 1] > indptr[c] && postings.customers.recent.ts[indptr[c]] !== 0;
    };
    for (const [k, v] of versions.entries()) {
      expect(places[k]).toBeGreaterThanOrEqual(0);
      expect(await heldIn(v, places[k])).toBe(true);
    }
    // Before: the id and each version's factor are there (this test can see them).
    const before = await holding(needles);
    expect(before.some((s) => s.endsWith('needle 0'))).toBe(true);
    for (let k = 1; k < needles.length; k++) expect(before.some((s) => s.endsWith(`needle ${k}`))).toBe(true);

    const { getArtifact } = store;
    const wholeReads: string[] = [];
    store.getArtifact = async (v, name) => {
      wholeReads.push(name);
      return getArtifact.call(store, v, name);
    };
    try {
      expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${ERASED}`, headers: auth('admin') })).statusCode).toBe(204);
    } finally {
      store.getArtifact = getArtifact;
    }
    expect(await holding(needles)).toEqual([]);
    // No version's audience postings name the customer's place, nor keep their orders or purchases.
    for (const [k, v] of versions.entries()) expect(await heldIn(v, places[k])).toBe(false);
    // ALS's, the profiles' and the audience postings' rows were wiped where they lie: no artifact of them was read whole.
    expect(wholeReads.filter((name) => name === ALS || name === PROFILES_ARTIFACT || name === AUDIENCE_ARTIFACT)).toEqual([]);
    // A process that loads the profiles afterwards (a replica started since) leaves the blanked row out.
    const loaded = fresh();
    expect(await loaded.profile(ERASED)).toBeNull();
    const reportAfter = (await loaded.report())!;
    expect(reportAfter.users).toBe(reportBefore.users - 1);
    const users = (r: typeof reportAfter) => r.segments.find((g) => g.name === segmentOfErased)!.users;
    expect(users(reportAfter)).toBe(users(reportBefore) - 1);
    expect(await loaded.userIdsIn('segment', segmentOfErased)).not.toContain(ERASED);
    expect(await loaded.profile('g-user4')).not.toBeNull();
    // The others keep theirs, in every version.
    expect(await Promise.all(versions.map((v) => rowsOf(v, 'g-user4')))).toEqual(keptFactors);
  });
});
