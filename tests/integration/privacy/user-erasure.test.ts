import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProfiles } from '../../../src/profiles/profile-codec.js';
import { SEGMENT_NAMES, type SegmentDimension } from '../../../src/profiles/profile-service.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createTrainer, type TrainerDeps } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';
import { DAY, SHOP_RECIPE, seedShop, T0 } from '../serving/shop-fixture.js';

/**
 * Erasure end to end, through the HTTP API, on the real stores: the shop fixture trained twice by the
 * real trainer (profiles artifact included), one customer erased, then every read path and a rollback.
 */
for (const backend of STORE_BACKENDS) {
  const available = await backend.available();
  describe.skipIf(!available)(`erasure of a customer (${backend.name})`, () => {
    let t: TestApp;
    let testStore: TestStore;
    let recipesDir: string;
    const trainer = (extra: Partial<TrainerDeps> = {}) =>
      createTrainer({
        events: t.services.events,
        catalog: t.services.catalog,
        store: t.services.store,
        defaultRecipe: 'serving-test',
        recipesDir,
        isolation: 'inline',
        threads: 1,
        storeRecommenders: false,
        erasures: t.services.erasure,
        ...extra,
      });
    const train = async (extra: Partial<TrainerDeps> = {}) => {
      const { version } = await trainer(extra).train();
      await t.services.serving.refresh();
      return version;
    };
    const get = (url: string, scope: 'read' | 'admin' = 'read') => t.app.inject({ url, headers: auth(scope) });
    /** Every user id listed in any segment, lifecycle stage or value tier of the active model. */
    const listedInSegments = async () => {
      const listed = new Set<string>();
      for (const dimension of Object.keys(SEGMENT_NAMES) as SegmentDimension[]) {
        for (const name of SEGMENT_NAMES[dimension]) {
          const res = await get(`/v1/segments/${name}/users?dimension=${dimension}&limit=1000`, 'admin');
          expect(res.statusCode).toBe(200);
          for (const u of res.json().users as { userId: string }[]) listed.add(u.userId);
        }
      }
      return listed;
    };
    const profiledIn = async (version: string) => {
      const bytes = await t.services.store.getArtifact(version, PROFILES_ARTIFACT);
      return new Set(decodeProfiles(bytes!).profiles.map((p) => p.userId));
    };
    const recommendFallback = async (user: string) => {
      const res = await get(`/v1/users/${user}/recommendations?k=5`);
      expect(res.statusCode).toBe(200);
      return res.json().fallback as boolean;
    };
    const erase = (user: string) => t.app.inject({ method: 'DELETE', url: `/v1/users/${user}`, headers: auth('admin') });

    let v1: string;
    let v2: string;
    beforeAll(async () => {
      recipesDir = await mkdtemp(join(tmpdir(), 'erasure-recipes-'));
      await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
      testStore = await backend.create();
      t = await createTestApp({ createDb: createPgliteTestDb, store: testStore.store });
      await seedShop(t.services);
      v1 = await train();
      v2 = await train();
    }, 60_000);
    afterAll(async () => {
      await t.app.close();
      await testStore.dispose();
      await rm(recipesDir, { recursive: true, force: true });
    });

    it('When a customer is erased, Then no read path knows them, in the active version or the kept one', async () => {
      // Before: everywhere.
      expect((await get('/v1/users/g-user3/profile')).statusCode).toBe(200);
      expect((await get('/v1/users/g-user3/events')).json().events.length).toBeGreaterThan(0);
      expect(await recommendFallback('g-user3')).toBe(false);
      expect(await listedInSegments()).toContain('g-user3');

      expect((await erase('g-user3')).statusCode).toBe(204);

      expect((await get('/v1/users/g-user3')).statusCode).toBe(404);
      expect((await get('/v1/users/g-user3/events')).statusCode).toBe(404);
      expect((await get('/v1/users/g-user3/profile')).statusCode).toBe(404);
      expect(await recommendFallback('g-user3')).toBe(true);
      const listed = await listedInSegments();
      expect(listed).not.toContain('g-user3');
      // The others are still there (23 of the 24 customers).
      expect(listed.size).toBe(23);
      for (const version of [v1, v2]) {
        expect(await profiledIn(version)).not.toContain('g-user3');
        expect(await t.services.store.getEntries(version, USERS_TABLE, ['g-user3', 'g-user4'])).toEqual([null, expect.any(Uint8Array)]);
        // The training's user index (on-request scoring) keeps its positions but not the id.
        const index = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
        expect(index).not.toContain('g-user3');
        expect(index).toContain('g-user4');
        expect(index).toHaveLength(24);
      }
      // Sent again (a retry after a 503 that hid a finished erasure): done, not an unknown customer.
      expect((await erase('g-user3')).statusCode).toBe(204);
      expect((await erase('never-known')).statusCode).toBe(404);
    });

    it('When several erasures are asked at once, Then each is answered as if alone and every one is gone', async () => {
      expect(await profiledIn(v2)).toEqual(expect.objectContaining({ size: 23 }));
      const answers = await Promise.all(['g-user5', 'g-user6', 'never-known-2', 'g-user3', 'g-user7'].map(erase));
      // g-user3 was erased by the test before: a retry, done.
      expect(answers.map((r) => r.statusCode)).toEqual([204, 204, 404, 204, 204]);
      for (const user of ['g-user5', 'g-user6', 'g-user7']) {
        expect((await get(`/v1/users/${user}/profile`)).statusCode).toBe(404);
        expect((await get(`/v1/users/${user}/events`)).statusCode).toBe(404);
        expect(await recommendFallback(user)).toBe(true);
      }
      expect((await listedInSegments()).size).toBe(20);
      for (const version of [v1, v2]) {
        expect(await profiledIn(version)).toEqual(expect.objectContaining({ size: 20 }));
        expect(await t.services.store.getEntries(version, USERS_TABLE, ['g-user5', 'g-user6', 'g-user7', 'g-user8'])).toEqual([null, null, null, expect.any(Uint8Array)]);
        const index = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
        expect(index.filter((id) => id === '')).toHaveLength(4);
      }
      const { rows } = await t.services.db.query<{ user_id: string }>('SELECT user_id FROM erased_users ORDER BY user_id');
      expect(rows.map((r) => r.user_id)).toEqual(['g-user3', 'g-user5', 'g-user6', 'g-user7']);
    });

    it('When the older version is activated again (rollback), Then the erased customer does not come back', async () => {
      const res = await t.app.inject({ method: 'POST', url: `/v1/models/${v1}/activate`, headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      expect(res.json().active.version).toBe(v1);
      await t.services.serving.refresh();
      expect(await recommendFallback('g-user3')).toBe(true);
      expect(await recommendFallback('g-user4')).toBe(false);
      expect(await listedInSegments()).not.toContain('g-user3');
      expect((await get('/v1/users/g-user3/profile')).statusCode).toBe(404);
    });

    it('When only the database part of an erasure happened (the store scrub failed), Then activating a kept version scrubs it first', async () => {
      // Postgres deletion and the erased_users record, as an erasure that died before reaching the store.
      expect(await t.services.events.deleteUser('k-user5')).toBe(true);
      expect(await profiledIn(v2)).toContain('k-user5');
      const res = await t.app.inject({ method: 'POST', url: `/v1/models/${v2}/activate`, headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      await t.services.serving.refresh();
      expect(await profiledIn(v2)).not.toContain('k-user5');
      expect(await t.services.store.getEntries(v2, USERS_TABLE, ['k-user5'])).toEqual([null]);
      expect(await recommendFallback('k-user5')).toBe(true);
      expect(await listedInSegments()).not.toContain('k-user5');
    });

    it('When a customer is erased while a training reads and fits, Then the version it publishes does not hold them, from the moment it is published', async () => {
      let atPublish: (Uint8Array | null)[] = [];
      const version = await train({
        afterStep: async (step) => {
          if (step === 'dataset') expect((await erase('k-user7')).statusCode).toBe(204);
          // Right after the publish, before the training's scrub of those erased meanwhile.
          if (step === 'publish') {
            const active = (await t.services.store.getActive())!.version;
            atPublish = await t.services.store.getEntries(active, USERS_TABLE, ['k-user7', 'k-user8']);
          }
        },
      });
      expect(atPublish).toEqual([null, expect.any(Uint8Array)]);
      expect(await profiledIn(version)).not.toContain('k-user7');
      expect(await profiledIn(version)).toContain('k-user8');
      expect(await t.services.store.getEntries(version, USERS_TABLE, ['k-user7', 'k-user8'])).toEqual([null, expect.any(Uint8Array)]);
      expect(await recommendFallback('k-user7')).toBe(true);
    });

    it('When a customer is erased as the training publishes and the training dies right after, Then the published version does not hold them', async () => {
      let erasing: Promise<{ statusCode: number }> | undefined;
      // The store as the trainer sees it: its publish is asked while the erasure is sent.
      const store = Object.create(t.services.store) as typeof t.services.store;
      store.publish = async (meta, opts) => {
        erasing = erase('k-user6');
        // Before, the erasure ran here (the version not listed yet, so not scrubbed) and the training's
        // scrub after the publish never came. Now it waits for the publish; either way, not for ever.
        await Promise.race([erasing, new Promise((r) => setTimeout(r, 1_500))]);
        return t.services.store.publish(meta, opts);
      };
      const crashed = trainer({
        store,
        afterStep: (step) => {
          if (step === 'publish') throw new Error('the training process died');
        },
      }).train();
      await expect(crashed).rejects.toThrow('the training process died');
      expect((await erasing!).statusCode).toBe(204);
      const version = (await t.services.store.getActive())!.version;
      expect(version).not.toBe(v2);
      expect(await t.services.store.getEntries(version, USERS_TABLE, ['k-user6', 'k-user8'])).toEqual([null, expect.any(Uint8Array)]);
      expect(await profiledIn(version)).not.toContain('k-user6');
      const ids = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
      expect(ids).not.toContain('k-user6');
      expect(ids).toContain('k-user8');
      await t.services.serving.refresh();
      expect(await recommendFallback('k-user6')).toBe(true);
    });

    it("When a batch dated ahead of the clock is sent again after the erasure, Then it stays erased; a later purchase is a new customer's", async () => {
      // Local time east of UTC sent without an offset reads 9 hours ahead (the API takes up to a day ahead).
      const ts = new Date(Date.now() + 9 * 3_600_000).toISOString();
      const batch = {
        events: [
          { userId: 'ahead-user', itemId: 'g5', quantity: 2, orderId: 'ahead-o1', ts },
          { userId: 'ahead-user', itemId: 'g4', quantity: 1, orderId: 'ahead-o1', ts },
        ],
      };
      const send = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload });
      expect((await send(batch)).json()).toMatchObject({ inserted: 2 });
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/ahead-user', headers: auth('admin') })).statusCode).toBe(204);
      // A retry queue sends the same batch again: dated after the erasure's own time, but the erased history.
      expect((await send(batch)).json()).toEqual({ accepted: 2, inserted: 0, duplicates: 0, erased: 2 });
      expect((await get('/v1/users/ahead-user/events')).statusCode).toBe(404);
      // Attributes written and erased again (nothing dated ahead this time): the first erasure's bound stands.
      expect((await t.app.inject({ method: 'PUT', url: '/v1/users/ahead-user', headers: auth('write'), payload: { attributes: { country: 'JP' } } })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/ahead-user', headers: auth('admin') })).statusCode).toBe(204);
      expect((await send(batch)).json()).toEqual({ accepted: 2, inserted: 0, duplicates: 0, erased: 2 });
      // A purchase dated after what was erased is the customer's new one.
      const later = new Date(Date.parse(ts) + 3_600_000).toISOString();
      expect((await send({ events: [{ userId: 'ahead-user', itemId: 'g5', quantity: 1, orderId: 'ahead-o2', ts: later }] })).json()).toMatchObject({ inserted: 1, erased: 0 });
      expect((await get('/v1/users/ahead-user/events')).json().events.map((e: { orderId: string }) => e.orderId)).toEqual(['ahead-o2']);
    });

    it('When a retried batch carries eventIds and no ts (dated on arrival), Then it stays erased, purchases and feedback alike', async () => {
      const send = (url: string, payload: object) => t.app.inject({ method: 'POST', url, headers: auth('write'), payload });
      const purchases = { events: [{ eventId: 'retry-e1', userId: 'retry-user', itemId: 'g5', quantity: 3, orderId: 'retry-o1' }] };
      const feedback = { events: [{ eventId: 'retry-f1', userId: 'retry-user', itemId: 'g4', type: 'click' }] };
      expect((await send('/v1/events', purchases)).json()).toMatchObject({ inserted: 1 });
      expect((await send('/v1/feedback', feedback)).json()).toMatchObject({ inserted: 1 });
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/retry-user', headers: auth('admin') })).statusCode).toBe(204);
      expect((await send('/v1/events', purchases)).json()).toEqual({ accepted: 1, inserted: 0, duplicates: 0, erased: 1 });
      expect((await send('/v1/feedback', feedback)).json()).toMatchObject({ inserted: 0, erased: 1 });
      expect((await get('/v1/users/retry-user/events')).statusCode).toBe(404);
    });

    it('When an erased customer had an event dated a day ahead and comes back at once, Then their new purchase is stored', async () => {
      const send = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload });
      const dayAhead = new Date(Date.now() + 23.9 * 3_600_000).toISOString();
      expect((await send({ events: [{ userId: 'back-user', itemId: 'g5', type: 'view', ts: dayAhead }] })).json()).toMatchObject({ inserted: 1 });
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/back-user', headers: auth('admin') })).statusCode).toBe(204);
      // A purchase correctly dated just after the erasure: a new customer's, though the erased view is dated later.
      const back = await send({ events: [{ userId: 'back-user', itemId: 'g5', quantity: 1, orderId: 'back-o1', ts: new Date(Date.now() + 1_000).toISOString() }] });
      expect(back.json()).toMatchObject({ inserted: 1, erased: 0 });
    });

    it('When an erased id is ingested again, Then it is a new customer: only the new purchases, trained like anyone', async () => {
      const put = await t.app.inject({ method: 'PUT', url: '/v1/users/g-user3', headers: auth('write'), payload: { attributes: { country: 'UK' } } });
      expect(put.statusCode).toBe(200);
      const send = (ts: string, orderId: string) =>
        t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ userId: 'g-user3', itemId: 'g5', quantity: 1, orderId, ts }] } });
      // A purchase dated before the erasure (a replayed batch, an old file) is the erased history: not stored.
      const old = await send(new Date(T0 + 70 * DAY).toISOString(), 'old-o1');
      expect(old.json()).toEqual({ accepted: 1, inserted: 0, duplicates: 0, erased: 1 });
      const post = await send(new Date().toISOString(), 'new-o1');
      expect(post.json()).toEqual({ accepted: 1, inserted: 1, duplicates: 0, erased: 0 });
      const version = await train();
      expect(await profiledIn(version)).toContain('g-user3');
      const profile = await get('/v1/users/g-user3/profile');
      expect(profile.statusCode).toBe(200);
      expect(profile.json()).toMatchObject({ frequency: 1, modelVersion: version });
      expect((await get('/v1/users/g-user3/events')).json().events.map((e: { itemId: string }) => e.itemId)).toEqual(['g5']);
    });
  });
}
