import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAudienceService } from '../../../src/audiences/audience-service.js';
import { buildPostingsHere } from '../../../src/audiences/audience-index-build.js';
import { AUDIENCE_ARTIFACT } from '../../../src/audiences/audience-artifact.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';

/**
 * A walkthrough at 420,000 customers: the first audience after a start built its index (every customer's
 * candidates inverted by item) on the thread that answers requests, 91-200 s, and the storefront got
 * 503 OVERLOADED meanwhile. The inversion now runs in a worker thread. Told without a clock: between the
 * last read of the store before the inversion (the version's listing) and the first use of the built index
 * (the segment filter's members), the event loop turns (a setImmediate queued at that read has run), which
 * it cannot when the inversion is done in the same stretch of the thread. Versions trained since the postings are
 * stored read them instead (audience-stored.test.ts); this is the path of a version trained before.
 */
describe('the first audience builds its index off the thread that answers requests', () => {
  let t: TestApp;
  let recipesDir: string;
  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'audience-thread-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    t = await createTestApp({ createDb: createPgliteTestDb });
    await seedShop(t.services);
    await createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    }).train();
    await t.services.serving.refresh();
  }, 60_000);
  afterAll(async () => {
    await t.app.close();
    await rm(recipesDir, { recursive: true, force: true });
  });

  it('When the first audience is asked, Then the event loop turns while its index is built, and the audience is the one built on this thread', async () => {
    const get = (url: string) => t.app.inject({ url, headers: auth('admin') });
    const segment = ((await get('/v1/segments')).json().segments as { name: string; users: number }[]).sort((a, b) => b.users - a.users)[0].name;
    const popular = (await get('/v1/popular?k=1')).json().items[0].itemId as string;
    const body = { itemIds: [popular], k: 50, includeRecentBuyers: true, segment };

    const { store, profiles } = t.services;
    const { listVersions, getArtifact } = store;
    // A version trained before the postings were stored (audience-artifact.ts): its index is built from the entries.
    store.getArtifact = async (v, name) => (name === AUDIENCE_ARTIFACT ? null : getArtifact.call(store, v, name));
    const { userIdsIn } = profiles;
    let turned: boolean | undefined;
    let turnedBeforeUse: boolean | undefined;
    store.listVersions = async () => {
      const versions = await listVersions.call(store);
      turned = false;
      setImmediate(() => (turned = true));
      return versions;
    };
    profiles.userIdsIn = async (dimension, name) => {
      turnedBeforeUse ??= turned;
      return userIdsIn.call(profiles, dimension, name);
    };
    let res;
    try {
      res = await t.app.inject({ method: 'POST', url: '/v1/audiences', headers: auth('admin'), payload: body });
    } finally {
      store.listVersions = listVersions;
      profiles.userIdsIn = userIdsIn;
    }
    expect(res.statusCode).toBe(200);
    expect(turnedBeforeUse).toBe(true);
    store.getArtifact = getArtifact;

    // The same audience from an index built wholly on this thread, over the same store and profiles.
    const here = createAudienceService({ model: () => t.services.serving.activeModel(), store, profiles, buildPostings: buildPostingsHere });
    const expected = await here.audience({ itemIds: [popular], k: 50, includeRecentBuyers: true, segment });
    expect(expected!.users.length).toBeGreaterThan(0);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(expected)));
  });
});
