import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProfiles } from '../../../src/profiles/profile-codec.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';

/**
 * A walkthrough at 420,000 customers: an erasure rewrote the profiles artifact on the thread that answers
 * requests (17 s of decoding and encoding every profile), and the storefront got 503 OVERLOADED meanwhile.
 * The rewrite now runs in a worker thread. Told without a clock: between the read of an artifact and the
 * write of its rewrite, the event loop turns (a setImmediate queued at the read has run), which it cannot
 * when the rewrite is done in the same stretch of the thread.
 */
describe('an erasure rewrites the artifacts off the thread that answers requests', () => {
  let t: TestApp;
  let recipesDir: string;
  let version: string;
  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'erasure-thread-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    t = await createTestApp({ createDb: createPgliteTestDb });
    await seedShop(t.services);
    ({ version } = await createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    }).train());
    await t.services.serving.refresh();
  }, 60_000);
  afterAll(async () => {
    await t.app.close();
    await rm(recipesDir, { recursive: true, force: true });
  });

  it('When a customer is erased, Then the event loop turns between each read and its rewrite, and the rewrite is right', async () => {
    const store = t.services.store;
    const { getArtifact, redactArtifact } = store;
    const turned = new Map<string, boolean>();
    const turnedBeforeWrite = new Map<string, boolean>();
    store.getArtifact = async (v, name) => {
      const bytes = await getArtifact.call(store, v, name);
      turned.set(name, false);
      setImmediate(() => turned.set(name, true));
      return bytes;
    };
    store.redactArtifact = async (v, name, bytes) => {
      turnedBeforeWrite.set(name, turned.get(name) ?? false);
      return redactArtifact.call(store, v, name, bytes);
    };
    try {
      const res = await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') });
      expect(res.statusCode).toBe(204);
    } finally {
      store.getArtifact = getArtifact;
      store.redactArtifact = redactArtifact;
    }
    expect(turnedBeforeWrite.get(ARTIFACT_USER_IDS)).toBe(true);
    // The profiles' and ALS's rows are blanked in place (a few bytes written, nothing rewritten here): not read whole at all.
    expect(turned.has(PROFILES_ARTIFACT)).toBe(false);
    expect(turned.has('recommender:als')).toBe(false);
    for (const [name, yes] of turnedBeforeWrite) expect(yes, name).toBe(true);

    const profiles = decodeProfiles((await store.getArtifact(version, PROFILES_ARTIFACT))!).profiles.map((p) => p.userId);
    expect(profiles).not.toContain('g-user3');
    expect(profiles.length).toBe(23);
    const index = decodeUserIdsArtifact((await store.getArtifact(version, ARTIFACT_USER_IDS))!);
    expect(index).toContain('');
    expect(index).not.toContain('g-user3');
  });

  it('When a customer is erased, Then the profiles served are the others\', without decoding the artifact again', async () => {
    const get = (url: string) => t.app.inject({ url, headers: auth('admin') });
    const before = (await get('/v1/segments')).json();
    const profile = (await get('/v1/users/g-user5/profile')).json();
    expect(profile.source).toBe('model');
    const store = t.services.store;
    const { getArtifact } = store;
    let profileReads = 0;
    store.getArtifact = async (v, name) => {
      if (name === PROFILES_ARTIFACT) profileReads++;
      return getArtifact.call(store, v, name);
    };
    try {
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user5', headers: auth('admin') })).statusCode).toBe(204);
      // The erasure's own rewrite read it once; what is served after reads it no more.
      const readByErasure = profileReads;
      const after = (await get('/v1/segments')).json();
      expect((await get('/v1/users/g-user5/profile')).statusCode).toBe(404);
      const members = (await get(`/v1/segments/${profile.segment}/users?limit=1000`)).json();
      expect((await get('/v1/users/g-user1/profile')).statusCode).toBe(200);
      expect(profileReads).toBe(readByErasure);

      expect(after.users).toBe(before.users - 1);
      const count = (report: { segments: { name: string; users: number }[] }) => report.segments.find((g) => g.name === profile.segment)!.users;
      expect(count(after)).toBe(count(before) - 1);
      expect(members.users.map((u: { userId: string }) => u.userId)).not.toContain('g-user5');
      expect(members.total).toBe(count(after));
    } finally {
      store.getArtifact = getArtifact;
    }
  });

  it('When a member of an audience is erased, Then the next audience leaves them out without reading every customer\'s entry again', async () => {
    const get = (url: string) => t.app.inject({ url, headers: auth('admin') });
    const popular = (await get('/v1/popular?k=1')).json().items[0].itemId as string;
    const audience = async () => {
      const res = await get(`/v1/items/${encodeURIComponent(popular)}/audience?k=50&includeRecentBuyers=true`);
      expect(res.statusCode).toBe(200);
      return (res.json().users as { userId: string }[]).map((u) => u.userId);
    };
    const before = await audience();
    expect(before.length).toBeGreaterThan(2);
    const member = before[0];
    const store = t.services.store;
    const { getEntries } = store;
    let entryReads = 0;
    let entriesRead = 0;
    store.getEntries = async (...args) => {
      entryReads++;
      entriesRead += args[2].length;
      return getEntries.apply(store, args);
    };
    try {
      expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${member}`, headers: auth('admin') })).statusCode).toBe(204);
      const [readByErasure, keysByErasure] = [entryReads, entriesRead];
      const after = await audience();
      // At most one batched read: the members' own entries, for their reasons (the stored postings carry none).
      expect(entryReads).toBeLessThanOrEqual(readByErasure + 1);
      expect(entriesRead - keysByErasure).toBeLessThanOrEqual(after.length);
      expect(after).not.toContain(member);
      expect(after.slice(0, before.length - 1)).toEqual(before.filter((id) => id !== member));
    } finally {
      store.getEntries = getEntries;
    }
  });
});

