/**
 * A Redis that comes back empty (restarted without persistence) gets the version that was active back from its copy
 * in Postgres (src/training/model-copies.ts, model-restore.ts), without a training: readiness returns, customers are
 * answered from the version again, a customer erased after the copy is not, and of two processes that notice at once
 * one puts it back. Against the real Postgres and a redis-server of the test's own, restarted empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { decodeProfiles } from '../../../src/profiles/profile-codec.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createModelRestore } from '../../../src/training/model-restore.js';
import { auth, type TestApp } from '../../helpers/app.js';
import { privateServerSupport, type PrivateRedis } from '../../helpers/private-servers.js';
import { restartedEmpty } from '../../helpers/store-emptied.js';
import { POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { seedShop } from '../serving/shop-fixture.js';
import { restoreTestBed } from './restore-test-bed.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('a Redis that comes back empty, put back from Postgres', () => {
  let redis: PrivateRedis;
  let testDb: TestDb;
  let first: TestApp;
  let second: TestApp | undefined;
  const bed = restoreTestBed('model-restore');
  // No retraining: what is looked at is the restore (a training queued by a look would publish meanwhile).
  const open = () => bed.open();
  /** A crash and a start with nothing: a Redis without persistence restarted by its host. */
  const restartEmpty = async () => {
    await redis.kill();
    await redis.start();
  };
  /**
   * Restarted empty, not put back yet by any look of the process's own (deterministic once its recovery is started), nor
   * by the second process's, once one is open: it sees the Redis come back too, and its look is waited for as well.
   */
  const emptied = (t: TestApp) => restartedEmpty(redis, t.services, ...(second && second !== t ? [second.services] : []));
  /** A restore asked for by the test, once any this process began by itself (the store came back) has ended. */
  const settledRestore = async (t: TestApp) => {
    for (let i = 0; i < 50; i++) {
      const outcome = await t.services.modelRestore!.restore();
      if (outcome !== 'elsewhere') return outcome;
    }
    return 'elsewhere';
  };
  const trainings = async (t: TestApp) => (await t.services.jobs.list({ type: 'train', limit: 100 })).length;
  const recommend = async (t: TestApp, user: string) => (await t.app.inject({ url: `/v1/users/${user}/recommendations?k=5`, headers: auth('read') })).json();

  beforeAll(async () => {
    ({ redis, testDb } = await bed.start());
    first = await open();
    await seedShop(first.services);
  }, 60_000);
  afterAll(async () => {
    await second?.dispose();
    await first?.dispose();
    await bed.dispose();
  });

  it('When a training publishes, Then its version is copied into Postgres in bounded chunks, and the copy is whole and recorded as the active one', async () => {
    const trained = await first.services.trainer.train({ tune: false });
    expect(trained.copy).toMatchObject({ chunks: expect.any(Number), bytes: expect.any(Number) });
    expect(trained.copy!.chunks).toBeGreaterThan(0);
    const copies = await first.services.modelCopyRepository!.list();
    expect(copies).toEqual([expect.objectContaining({ version: trained.version, activated: true, chunks: trained.copy!.chunks, bytes: trained.copy!.bytes })]);
    expect(copies[0].meta).toMatchObject({ version: trained.version, info: { erasureMark: expect.any(Number) } });
    const { rows } = await testDb.db.query<{ largest: number }>('SELECT max(octet_length(bytes)) AS largest FROM model_copy_chunks');
    expect(rows[0].largest).toBeLessThanOrEqual(4 * 1024 * 1024);
  }, 60_000);

  it('When two processes find the store empty at once, Then one puts the version back and the other leaves it to it', async () => {
    second ??= await open();
    const version = (await first.services.store.getActive())!.version;
    await emptied(first);
    const outcomes = await Promise.all([first.services.modelRestore!.restore(), second.services.modelRestore!.restore()]);
    expect(outcomes.sort()).toEqual(['elsewhere', 'restored']);
    expect((await first.services.store.listVersions()).map((m) => m.version)).toEqual([version]);
    expect((await second.services.store.getActive())?.version).toBe(version);
    // Once it is back, neither restores again.
    expect(await second.services.modelRestore!.restore()).toBe('elsewhere');
  }, 60_000);

  it('When a customer is erased after the copy was made, Then the copy no longer holds them (its bytes are deleted with the erasure), and a store lost then is not put back from it', async () => {
    const { services, app } = first;
    const version = (await services.modelCopyRepository!.lastActive())!.version;
    const held = async () => Number((await testDb.db.query<{ n: string }>('SELECT count(*) AS n FROM model_copy_chunks WHERE version = $1', [version])).rows[0].n);
    expect(await held()).toBeGreaterThan(0);
    expect((await app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') })).statusCode).toBe(204);
    // Complete erasure: Postgres keeps no bytes of a copy made before it (the retraining is the fallback meanwhile).
    expect(await held()).toBe(0);
    expect(await services.modelCopyRepository!.lastActive()).toMatchObject({ version, meta: null });
    await emptied(first);
    expect(await settledRestore(first)).toBe('none');
    expect(await services.store.getActive()).toBeNull();
  }, 60_000);

  it('When a customer is erased while a training runs (after it read its data), Then its copy is deleted at its publish, and the version published does not serve them', async () => {
    const { services, app } = first;
    let erased = false;
    const trained = await services.trainer.train({ tune: false }, {
      onVersion: async () => {
        expect((await app.inject({ method: 'DELETE', url: '/v1/users/g-user5', headers: auth('admin') })).statusCode).toBe(204);
        erased = true;
      },
    });
    expect(erased).toBe(true);
    expect((await services.store.getActive())?.version).toBe(trained.version);
    expect(await services.store.getEntries(trained.version, USERS_TABLE, ['g-user5'])).toEqual([null]);
    const { rows } = await testDb.db.query<{ n: string }>('SELECT count(*) AS n FROM model_copy_chunks WHERE version = $1', [trained.version]);
    expect(Number(rows[0].n)).toBe(0);
    expect(await services.modelCopyRepository!.lastActive()).toMatchObject({ version: trained.version, meta: null });
  }, 60_000);

  it('When a version is trained after the erasures, Then its copy is kept whole and a store that comes back empty is put back from it, serving the others and not the erased', async () => {
    const { services } = first;
    const trained = await services.trainer.train({ tune: false });
    expect(trained.copy?.chunks).toBeGreaterThan(0);
    expect(await services.modelCopyRepository!.lastActive()).toMatchObject({ version: trained.version, meta: { version: trained.version } });
    await emptied(first);
    expect(await settledRestore(first)).toBe('restored');
    expect((await services.store.getActive())?.version).toBe(trained.version);
    expect(await services.store.getEntries(trained.version, USERS_TABLE, ['g-user3', 'g-user5', 'g-user4'])).toEqual([null, null, expect.anything()]);
    const profiled = decodeProfiles((await services.store.getArtifact(trained.version, PROFILES_ARTIFACT))!).profiles.map((p) => p.userId);
    expect(profiled).toContain('g-user4');
    expect(profiled).not.toContain('g-user3');
    await services.serving.refresh();
    expect(await recommend(first, 'g-user3')).toMatchObject({ fallback: true });
    expect(await recommend(first, 'g-user4')).toMatchObject({ fallback: false });
    // A process started now (nothing of the store read before) does not serve them either.
    const third = await open();
    try {
      expect(await recommend(third, 'g-user3')).toMatchObject({ fallback: true });
    } finally {
      await third.dispose();
    }
  }, 60_000);

  it('When a customer is erased while a restore writes the version back, Then the version it publishes does not hold or serve them', async () => {
    const { services, app } = first;
    const version = (await services.modelCopyRepository!.lastActive())!.version;
    await emptied(first);
    let erased = false;
    // The restore's own writes, the first of which waits for an erasure to commit (it drops the copy being read:
    // the read goes on from its snapshot, so the draft holds the customer until the publish scrubs them).
    const store = Object.create(services.store) as typeof services.store;
    store.putArtifact = async (v, name, data) => {
      if (!erased) {
        erased = true;
        expect((await app.inject({ method: 'DELETE', url: '/v1/users/g-user6', headers: auth('admin') })).statusCode).toBe(204);
      }
      return services.store.putArtifact(v, name, data);
    };
    const restore = createModelRestore({ copies: services.modelCopyRepository!, store, publishScrubbed: (mark, meta, publish) => services.erasure.publishScrubbed(mark, meta, publish) });
    expect(await restore.restore()).toBe('restored');
    expect(erased).toBe(true);
    expect((await services.store.getActive())?.version).toBe(version);
    expect(await services.store.getEntries(version, USERS_TABLE, ['g-user6', 'g-user4'])).toEqual([null, expect.anything()]);
    const profiled = decodeProfiles((await services.store.getArtifact(version, PROFILES_ARTIFACT))!).profiles.map((p) => p.userId);
    expect(profiled).toContain('g-user4');
    expect(profiled).not.toContain('g-user6');
    // The copy it was read from is gone with the erasure.
    expect(await services.modelCopyRepository!.lastActive()).toMatchObject({ version, meta: null });
    // A copy again, for what follows.
    expect((await services.trainer.train({ tune: false })).copy?.chunks).toBeGreaterThan(0);
  }, 60_000);

  it('When a training begins while the store is empty and a restore publishes the version active before while it runs, Then the newer version it trains is made active, not left behind the restored older one', async () => {
    const { services } = first;
    const restored = (await services.modelCopyRepository!.lastActive())!.version;
    await emptied(first);
    let putBack: string | undefined;
    const trained = await services.trainer.train({ tune: false }, {
      // The training read the active version (none) before this: the restore publishes meanwhile. (Before the
      // recovery is started: a process that looks by itself as the store comes back could restore before the read.)
      onVersion: async () => {
        await settledRestore(first);
        putBack = (await services.store.getActive())?.version;
      },
    });
    expect(putBack).toBe(restored);
    expect(trained.notActivated).toBeUndefined();
    expect(trained.activated).toBe(true);
    expect((await services.store.getActive())?.version).toBe(trained.version);
    expect((await services.store.listVersions()).map((m) => m.version)).toEqual([trained.version, restored]);
    expect((await services.modelCopyRepository!.lastActive())?.version).toBe(trained.version);
  }, 60_000);

  it('When Redis restarts empty, Then the model recovery puts the active version back from its copy, readiness returns and customers are answered from it, and no training is queued', async () => {
    const { services, app } = first;
    const version = (await services.modelCopyRepository!.lastActive())!.version;
    expect((await recommend(first, 'g-user1')).fallback).toBe(false);
    const before = await trainings(first);
    await emptied(first);
    expect((await app.inject({ url: '/health/ready' })).json()).toMatchObject({ checks: { activeModel: false } });

    services.modelRecovery!.start();
    expect(await services.modelRecovery!.recover()).toBeNull();
    expect((await services.store.getActive())?.version).toBe(version);
    const ready = await app.inject({ url: '/health/ready' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(await trainings(first)).toBe(before);
    // Entries this process had not read before the loss come from the store again, not a cold start.
    expect(await services.store.getEntries(version, USERS_TABLE, ['g-user4'])).not.toEqual([null]);
    await services.serving.refresh();
    expect(await recommend(first, 'g-user4')).toMatchObject({ modelVersion: version, fallback: false });
    // Looked at again: the store holds the version, nothing to do.
    expect(await services.modelRecovery!.recover()).toBeNull();
    expect(await trainings(first)).toBe(before);
  }, 60_000);

  it('When Redis restarts empty under a running process, Then it puts the version back by itself as the store reconnects, not at a request a minute later', async () => {
    const { services } = first;
    const version = (await services.store.getActive())!.version;
    services.modelRecovery!.start();
    await restartEmpty();
    // No request is made: the store's subscription coming back is what makes it look.
    for (let i = 0; (await services.store.getActive().catch(() => null)) === null; i++) {
      expect(i, 'the version was not put back by itself').toBeLessThan(300);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await services.store.getActive())?.version).toBe(version);
    // The restore goes on after the version is active (its record in Postgres, the versions kept for rollback): it is
    // waited for, or the next test's record of the version active last, and its Redis restart, race its tail (the
    // restore's record written after the test's, so the version was put back again: "the store holds versions after
    // the restart", at load 25).
    await services.modelRecovery!.idle();
    expect((await services.modelCopyRepository!.lastActive())?.version).toBe(version);
  }, 60_000);

  it('When the version active last has no copy (a rollback to a version trained before copies were kept), Then nothing is put back and the retraining stays the fallback', async () => {
    const { services } = first;
    await services.modelCopyRepository!.markActive('v-without-copy');
    await emptied(first);
    expect(await settledRestore(first)).toBe('none');
    expect(await services.store.getActive()).toBeNull();
  }, 60_000);

  it('When the copy of the version active last is damaged, Then nothing is put back (no draft left) and the retraining is the fallback, not a restore failing at every look', async () => {
    const { services } = first;
    const [copy] = (await services.modelCopyRepository!.list()).filter((c) => c.meta !== null);
    await services.modelCopyRepository!.markActive(copy.version);
    await testDb.db.query("UPDATE model_copy_chunks SET bytes = overlay(bytes placing '\\xff'::bytea from 20 for 1) WHERE version = $1 AND seq = 0", [copy.version]);
    expect(await services.modelRestore!.restore()).toBe('none');
    expect(await services.store.listVersions()).toEqual([]);
  }, 60_000);
});
