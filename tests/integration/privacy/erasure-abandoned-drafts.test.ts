import { mkdtempSync } from 'node:fs';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProfiles } from '../../../src/profiles/profile-codec.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';
import { seedTwoShops } from '../training/purchase-fixture.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { privateServerSupport, startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';

/**
 * README "Jobs through a restart or failover": a draft whose deletion found Redis away (a failed
 * training's) stays in the store until the next training job. It holds what that training read of every
 * customer: their profile and their per-user entries. An erasure acknowledged meanwhile must not leave
 * the customer there (README "Erasure": the model store is scrubbed of them).
 */
for (const backend of STORE_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`erasure and the draft of a failed training (${backend.name})`, () => {
    let t: TestApp;
    let testStore: TestStore;
    beforeAll(async () => {
      testStore = await backend.create();
      t = await createTestApp({ createDb: createPgliteTestDb, store: testStore.store, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'erasure-drafts-')) } });
      await seedTwoShops(t.services);
    });
    afterAll(async () => {
      await t?.dispose();
      await testStore?.dispose();
    });

    it('When a customer is erased while a failed training\'s draft is still in the store, Then the draft no longer holds them', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
      const trained = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`);
      expect(trained.status).toBe('succeeded');
      const { store, jobs } = t.services;
      const published = trained.result.version as string;
      const victim = decodeProfiles((await store.getArtifact(published, PROFILES_ARTIFACT))!).profiles[0].userId;
      const entry = (await store.getEntries(published, USERS_TABLE, [victim]))[0]!;
      // A training job that named its draft, wrote the customers' profiles and entries as a training does,
      // and failed with the store away, so its own cleanup could not delete the draft.
      const failed = await jobs.enqueue('train', {});
      expect((await jobs.claimNext(['train'], 'gone-worker'))!.id).toBe(failed.id);
      expect(await jobs.note(failed.id, 'gone-worker', { draftVersion: 'v-abandoned' })).toBe(true);
      await store.putArtifact('v-abandoned', PROFILES_ARTIFACT, (await store.getArtifact(published, PROFILES_ARTIFACT))!);
      await store.putEntries('v-abandoned', USERS_TABLE, [[victim, entry]]);
      expect(await jobs.fail(failed.id, 'gone-worker', 'the model store did not answer')).toBe(true);

      expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${victim}`, headers: auth('admin') })).statusCode).toBe(204);

      expect(await store.getEntries('v-abandoned', USERS_TABLE, [victim])).toEqual([null]);
      const draftProfiles = await store.getArtifact('v-abandoned', PROFILES_ARTIFACT);
      expect(draftProfiles === null || !decodeProfiles(draftProfiles).profiles.some((p) => p.userId === victim)).toBe(true);
    });

    it('When a customer is erased while a training runs, Then its draft is left whole to it (it scrubs the draft as it publishes)', async () => {
      const { store, jobs } = t.services;
      const published = (await store.getActive())!.version;
      const profiles = (await store.getArtifact(published, PROFILES_ARTIFACT))!;
      const [victim, other] = decodeProfiles(profiles).profiles.map((p) => p.userId).filter((id) => id !== '').slice(-2);
      const running = await jobs.enqueue('train', {});
      expect((await jobs.claimNext(['train'], 'live-worker'))!.id).toBe(running.id);
      expect(await jobs.note(running.id, 'live-worker', { draftVersion: 'v-running' })).toBe(true);
      await store.putArtifact('v-running', PROFILES_ARTIFACT, profiles);
      const entries = await store.getEntries(published, USERS_TABLE, [victim, other]);
      await store.putEntries('v-running', USERS_TABLE, [[victim, entries[0]!], [other, entries[1]!]]);

      expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${victim}`, headers: auth('admin') })).statusCode).toBe(204);

      expect(await store.getArtifact('v-running', PROFILES_ARTIFACT)).toEqual(profiles);
      expect(await store.getEntries('v-running', USERS_TABLE, [other])).toEqual([entries[1]]);
      expect(await jobs.fail(running.id, 'live-worker', 'ended by the test')).toBe(true);
    });
  });
}

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/**
 * A prune (a publish past MODEL_VERSIONS_KEPT) unlists the oldest version, then deletes its data: a Redis
 * that fails between the two leaves the data listed nowhere, where an erasure that scrubs the listed
 * versions did not look. Here the second step is refused (an ACL user without UNLINK: a worker whose
 * prune fails there), as Redis going away at that moment would.
 */
describe.skipIf(!support.redis)('erasure and the data of a version a prune unlisted but could not delete (redis store)', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  const prefix = 'erasure-prune:';
  beforeAll(async () => {
    redis = await startPrivateRedis();
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'pruner', 'on', 'nopass', '~*', '&*', '+@all', '-unlink');
    await admin.quit();
    t = await createTestApp({ createDb: createPgliteTestDb, store: createRedisModelStore({ url: redis.url, prefix }), env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'erasure-prune-')) } });
    await seedTwoShops(t.services);
  });
  afterAll(async () => {
    await t?.dispose();
    await redis?.dispose();
  });

  it('When a customer is erased after a prune left a version\'s data behind, Then that data no longer holds them', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
    const trained = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`);
    expect(trained.status).toBe('succeeded');
    const { store } = t.services;
    const published = trained.result.version as string;
    const profiles = (await store.getArtifact(published, PROFILES_ARTIFACT))!;
    const victim = decodeProfiles(profiles).profiles[0].userId;
    const entry = (await store.getEntries(published, USERS_TABLE, [victim]))[0]!;
    // An older version kept for rollback (listed, not active), holding the customer.
    const meta = (await store.getActive())!;
    await store.putArtifact('v-old', PROFILES_ARTIFACT, profiles);
    await store.putEntries('v-old', USERS_TABLE, [[victim, entry]]);
    expect(await store.publish({ ...meta, version: 'v-old' }, { activeWas: 'another' })).toBe(false);
    // A worker keeping 2 versions publishes a third: its prune of v-old unlists it and fails before its data goes.
    const worker = createRedisModelStore({ url: redis.url.replace('redis://', 'redis://pruner@'), prefix, versionsKept: 2 });
    try {
      await worker.putArtifact('v-new', PROFILES_ARTIFACT, profiles);
      await expect(worker.publish({ ...meta, version: 'v-new' }, { activeWas: 'another' })).rejects.toThrow(/NOPERM/);
    } finally {
      await worker.close();
    }
    expect((await store.listVersions()).map((m) => m.version)).not.toContain('v-old');
    expect(await store.getEntries('v-old', USERS_TABLE, [victim])).toEqual([entry]);

    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${victim}`, headers: auth('admin') })).statusCode).toBe(204);

    expect(await store.getEntries('v-old', USERS_TABLE, [victim])).toEqual([null]);
    const left = await store.getArtifact('v-old', PROFILES_ARTIFACT);
    expect(left === null || !decodeProfiles(left).profiles.some((p) => p.userId === victim)).toBe(true);
  });
});
