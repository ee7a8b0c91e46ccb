import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT, decodeAudienceArtifact } from '../../../src/audiences/audience-artifact.js';
import { rankAudience } from '../../../src/audiences/audience-index.js';
import { audienceReason, createAudienceService, explainedMembers, loadAudienceIndex } from '../../../src/audiences/audience-service.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

/**
 * The first audience of a version read every customer's entry and inverted them (80 s at 100,000 customers,
 * bench/README.md); the training now stores the inverted postings (audience-artifact.ts) and the first audience
 * reads them. On Redis and Postgres: the audiences from the stored postings are the ones built the old way from
 * the same version's entries; a version without them (trained before) still answers; an erased customer is in no
 * audience of a process that loads the postings afterwards, nor after a rollback to an older version.
 */
const redisBackend = STORE_BACKENDS.find((b) => b.name === 'redis store')!;
const DAY_MS = 86_400_000;
describe.skipIf(!(await serviceAvailable(REDIS_URL)) || !(await serviceAvailable(POSTGRES_URL)))('audiences from the postings a training stored', () => {
  let t: TestApp;
  let testStore: TestStore;
  let recipesDir: string;
  const versions: string[] = [];

  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'audience-stored-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    testStore = await redisBackend.create();
    t = await createTestApp({ createDb: createPostgresTestDb, store: testStore.store });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    });
    for (let k = 0; k < 2; k++) versions.push((await trainer.train()).version);
    await t.services.serving.refresh();
  }, 180_000);
  afterAll(async () => {
    await t?.app.close();
    await testStore?.dispose();
    await rm(recipesDir, { recursive: true, force: true });
  });

  /** The store as it is, counting the per-customer entries read. */
  const counted = (store: ModelStore) => {
    const c = {
      entriesRead: 0,
      /** The customers whose entries were read, in order. */
      keys: [] as string[],
      getArtifact: (v: string, n: string) => store.getArtifact(v, n),
      getEntries: (v: string, table: string, keys: string[]) => {
        c.entriesRead += keys.length;
        c.keys.push(...keys);
        return store.getEntries(v, table, keys);
      },
      listVersions: () => store.listVersions(),
    };
    return c;
  };
  /** The store of a version trained before the postings were stored: it has none. */
  const withoutPostings = (store: ModelStore) => {
    const c = counted(store);
    c.getArtifact = async (v: string, n: string) => (n === AUDIENCE_ARTIFACT ? null : store.getArtifact(v, n));
    return c;
  };
  const active = async () => (await t.services.serving.activeModel())!;

  /**
   * Every product's audience of `index`, under several queries, as ids and what is said of each member (the
   * stored postings carry no anchors and sources: the members' entries give them, as the service reads them).
   */
  async function everyAudience(model: ServingModel, index: Awaited<ReturnType<typeof loadAudienceIndex>>['index']) {
    const out: unknown[] = [];
    for (let i = 0; i < model.items.ids.length; i++) {
      for (const excludeBuyersSince of [null, -Infinity, model.info.now - 30 * DAY_MS]) {
        for (const gamma of [0, 0.5]) {
          const members = await explainedMembers(t.services.store, model.meta.version, index, rankAudience(index, { targets: [i], k: 40, gamma, excludeBuyersSince }));
          out.push(members.map((m) => ({ id: index.userIds[m.user], score: m.score, tier: m.tier, target: m.target, reason: audienceReason(model, m) })));
        }
      }
    }
    return out;
  }

  it('When a version was trained, Then its audience postings are stored, read without any customer\'s entry, and every audience from them is the one built from the entries', async () => {
    const { store } = t.services;
    const model = await active();
    expect(await store.getArtifact(model.meta.version, AUDIENCE_ARTIFACT)).not.toBeNull();
    const fromStored = counted(store);
    const stored = await loadAudienceIndex(fromStored, model);
    expect(fromStored.entriesRead).toBe(0);
    const old = withoutPostings(store);
    const built = await loadAudienceIndex(old, model);
    expect(old.entriesRead).toBeGreaterThan(0);
    const expected = await everyAudience(model, built.index);
    expect((expected as unknown[][]).some((members) => members.length > 0)).toBe(true);
    // Anchors are told at all (else the equality below would say little of them).
    expect((expected as { reason: string }[][]).flat().some((m) => m.reason.startsWith('bought '))).toBe(true);
    expect(await everyAudience(model, stored.index)).toEqual(expected);
    expect(stored.positions).toEqual(built.positions);
  });

  it('When a customer is erased, Then a process that loads the stored postings afterwards puts them in no audience, every kept version\'s postings hold nothing of them, and a rollback still serves audiences without them', async () => {
    const { store } = t.services;
    const model = await active();
    // A customer the models put in audiences: the first member of the first product's audience.
    const before = await loadAudienceIndex(store, model);
    const members = model.items.ids.flatMap((_, i) => rankAudience(before.index, { targets: [i], k: 40, gamma: 0, excludeBuyersSince: null }));
    const erased = before.index.userIds[members[0].user];
    expect(erased).toBeTruthy();
    const rowOf = async (version: string) => decodeUserIdsArtifact((await store.getArtifact(version, ARTIFACT_USER_IDS))!).indexOf(erased);
    const rows = await Promise.all(versions.map(rowOf));
    expect(rows.every((r) => r >= 0)).toBe(true);

    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${erased}`, headers: auth('admin') })).statusCode).toBe(204);

    // Each kept version's postings: the customer's place is held by no posting, their columns are zeroed.
    for (const [k, version] of versions.entries()) {
      const { positions, postings } = decodeAudienceArtifact((await store.getArtifact(version, AUDIENCE_ARTIFACT))!);
      const c = positions.indexOf(rows[k]);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(postings.candidates.users.includes(c)).toBe(false);
      expect(postings.buyers.users.includes(c)).toBe(false);
      expect(postings.customers.orders[c]).toBe(0);
      const { indptr, items } = postings.customers.recent;
      expect([...items.subarray(indptr[c], indptr[c + 1])].every((i) => i === 0)).toBe(true);
    }

    // A fresh process (a new audience service over the store) reads the postings, not the entries.
    const audiencesOf = async (m: ServingModel) => {
      const reads = counted(store);
      const fresh = createAudienceService({ model: async () => m, store: reads, profiles: t.services.profiles });
      const ids: string[] = [];
      for (const itemId of m.items.ids) {
        const from = reads.keys.length;
        const users = (await fresh.audience({ itemIds: [itemId], k: 100, includeRecentBuyers: true }))!.users;
        // No customer's entry to build the index: each audience reads its candidate members' own, for their
        // reasons, and no one else's (a rebuild from the entries reads every customer's, with the first audience).
        expect(new Set(reads.keys.slice(from))).toEqual(new Set(users.filter((u) => u.tier === 'candidate').map((u) => u.userId)));
        ids.push(...users.map((u) => u.userId));
      }
      return ids;
    };
    const now = await audiencesOf(model);
    expect(now.length).toBeGreaterThan(0);
    expect(now).not.toContain(erased);

    // A rollback to the older version serves its audiences, without the customer.
    expect(await t.services.erasure.activate(versions[0])).toBe(true);
    await t.services.serving.refresh();
    const older = await active();
    expect(older.meta.version).toBe(versions[0]);
    const rolledBack = await audiencesOf(older);
    expect(rolledBack.length).toBeGreaterThan(0);
    expect(rolledBack).not.toContain(erased);
    const res = await t.app.inject({ url: `/v1/items/${encodeURIComponent(older.items.ids[0])}/audience?k=10`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
  });

  it('When a version has no stored postings (trained before they were), Then its audiences are built from the entries and answered', async () => {
    const { store } = t.services;
    const model = await active();
    const expected = await everyAudience(model, (await loadAudienceIndex(withoutPostings(store), model)).index);
    // Its artifact's keys deleted from Redis, as a version of a release before never had them.
    const redis = new Redis(REDIS_URL);
    try {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${testStore.prefix}*`, count: 1000 })) keys.push(...(batch as string[]).filter((key) => key.includes(AUDIENCE_ARTIFACT) && key.includes(model.meta.version)));
      expect(keys.length).toBeGreaterThan(0);
      await redis.unlink(...keys);
    } finally {
      await redis.quit();
    }
    expect(await store.getArtifact(model.meta.version, AUDIENCE_ARTIFACT)).toBeNull();
    const reads = counted(store);
    const loaded = await loadAudienceIndex(reads, model);
    expect(reads.entriesRead).toBeGreaterThan(0);
    expect(await everyAudience(model, loaded.index)).toEqual(expected);
    const fresh = createAudienceService({ model: async () => model, store, profiles: t.services.profiles });
    const answer = await fresh.audience({ itemIds: [model.items.ids[0]], k: 10, includeRecentBuyers: true });
    expect(answer!.users.length).toBeGreaterThan(0);
  });
});
