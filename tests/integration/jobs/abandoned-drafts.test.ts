import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

/**
 * A training that failed while the model store was away could not delete its draft (its own cleanup, or
 * the sweep's after an interruption, is tried once): the draft stayed in the store, listed nowhere.
 * The next training job deletes the drafts of the failed ones before it starts.
 */
for (const backend of STORE_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`drafts of failed trainings (${backend.name})`, () => {
    let t: TestApp;
    let testStore: TestStore;
    beforeAll(async () => {
      testStore = await backend.create();
      t = await createTestApp({ createDb: createPgliteTestDb, store: testStore.store, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'abandoned-drafts-')) } });
      await seedTwoShops(t.services);
    });
    afterAll(async () => {
      await t?.dispose();
      await testStore?.dispose();
    });

    const trainToEnd = async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
      expect(res.statusCode).toBe(202);
      return finishedJob(t, `/v1/training-jobs/${res.json().jobId}`);
    };

    it('When a failed training left its draft in the store, Then the next training deletes it, and nothing else', async () => {
      const first = await trainToEnd();
      expect(first.status).toBe('succeeded');
      const { store, jobs } = t.services;
      // A training job that named its draft, wrote part of it, and failed without deleting it.
      const failed = await jobs.enqueue('train', {});
      expect((await jobs.claimNext(['train'], 'gone-worker'))!.id).toBe(failed.id);
      expect(await jobs.note(failed.id, 'gone-worker', { draftVersion: 'v-abandoned' })).toBe(true);
      await store.putArtifact('v-abandoned', 'serving-items', new Uint8Array([1, 2, 3]));
      await store.putEntries('v-abandoned', 'serving-users', [['c1', new Uint8Array([4])]]);
      expect(await jobs.fail(failed.id, 'gone-worker', 'the model store did not answer')).toBe(true);

      const second = await trainToEnd();
      expect(second.status).toBe('succeeded');
      expect(await store.getArtifact('v-abandoned', 'serving-items')).toBeNull();
      expect(await store.getEntries('v-abandoned', 'serving-users', ['c1'])).toEqual([null]);
      // The published versions are untouched.
      expect((await store.listVersions()).map((m) => m.version).sort()).toEqual([first.result.version, second.result.version].sort());
      expect(await store.getArtifact(first.result.version, 'serving-items')).not.toBeNull();
    });
  });
}
