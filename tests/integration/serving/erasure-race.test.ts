import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServing } from '../../../src/serving/create-serving.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

describe('an erasure while a request is reading', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
    await seedShop(t.services);
    await trainAndPublish(t.services);
  });
  afterAll(() => t.dispose());

  it('When the user is erased while their request awaits its reads, Then its answer is not kept for later requests', async () => {
    // The live-events read of one request is held open (as an LRANGE in flight would be).
    let release!: () => void;
    let hold = false;
    const store: ModelStore = {
      ...t.services.store,
      getUserEvents: async (id) => {
        if (hold) await new Promise<void>((r) => (release = r));
        return t.services.store.getUserEvents(id);
      },
    };
    const serving = createServing({ store, db: t.services.db, catalog: t.services.catalog, recheckMs: 60_000 });
    // Known user, entry cached.
    expect((await serving.recommendForUser('k-user5', { k: 5 })).fallback).toBe(false);
    expect(serving.recommendForUserNow('k-user5', { k: 5 })?.fallback).toBe(false);
    hold = true;
    const inFlight = serving.recommendForUser('k-user5', { k: 6 });
    await new Promise((r) => setImmediate(r));
    await serving.forgetUser('k-user5');
    hold = false;
    release();
    await inFlight;
    expect(serving.recommendForUserNow('k-user5', { k: 6 })).toBeUndefined();
    expect(serving.recommendForUserNow('k-user5', { k: 5 })).toBeUndefined();
  });

  it('When the user is erased while their entry is being read, Then what the read found is neither served nor kept', async () => {
    // The entry read of k-user6 answers (with the entry as it was before the scrub) only after the erasure.
    let entered!: () => void;
    const reading = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const store: ModelStore = {
      ...t.services.store,
      getEntries: async (version, table, ids) => {
        const found = await t.services.store.getEntries(version, table, ids);
        if (ids.includes('k-user6')) {
          entered();
          await released;
        }
        return found;
      },
    };
    const serving = createServing({ store, db: t.services.db, catalog: t.services.catalog, recheckMs: 60_000 });
    expect((await serving.recommendForUser('k-user5', { k: 5 })).fallback).toBe(false);
    const inFlight = serving.recommendForUser('k-user6', { k: 5 });
    await reading;
    await serving.forgetUser('k-user6');
    release();
    expect((await inFlight).fallback).toBe(true);
    expect((await serving.recommendForUser('k-user6', { k: 5 })).fallback).toBe(true);
  });
});
