import { afterAll, describe, expect, it } from 'vitest';
import { createErasureRepository } from '../../../src/data/erasure-repository.js';
import { createPgDb } from '../../../src/data/db.js';
import { createUserErasure } from '../../../src/privacy/user-erasure.js';
import { encodeUserIdsArtifact, ARTIFACT_USER_IDS } from '../../../src/serving/serving-artifacts.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { freePort } from '../../helpers/private-servers.js';

/**
 * The start-up catch-up (app.ts onReady: catchUp() without a mark) of a process on the in-process model store
 * (no REDIS_URL), which keeps no erasure records, while Postgres cannot be reached. Before the audience catch-up
 * it asked nothing of Postgres and resolved at once; a catch-up that has to read the mark first fails, and
 * app.ts retries it for ERASURE_CATCH_UP_RETRY_MS before the process listens, then warns that the store could
 * not be checked. With no version behind, nothing needs Postgres.
 */
describe('the erasure catch-up of a store without erasure records while Postgres is down', async () => {
  const db = createPgDb(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, { max: 1, connectTimeoutMs: 2000 });
  afterAll(() => db.close());

  it('When no kept version has audience postings left behind, Then the catch-up at start resolves without asking Postgres, as it did before', async () => {
    const store = await createMemoryModelStore({});
    await store.putArtifact('v1', ARTIFACT_USER_IDS, encodeUserIdsArtifact(['a', 'b', 'c']));
    await store.publish({ version: 'v1', recipe: 'r', trainedAt: new Date().toISOString(), info: {} });
    const erasures = createErasureRepository(db);
    // Postgres is down indeed: the mark cannot be read.
    await expect(erasures.mark()).rejects.toThrow();
    const erasure = createUserErasure({ events: { deleteUsers: async () => new Map() }, erasures, store, forget: async () => {} });
    await expect(erasure.catchUp()).resolves.toEqual([]);
  });
});
