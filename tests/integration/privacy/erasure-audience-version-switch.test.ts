import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAudienceService } from '../../../src/audiences/audience-service.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';

/**
 * ea00902 keeps a version's audience index across erasures and leaves out the customers erased "while a
 * version was served" — but it notes them for `current`, the model of the last audience asked, not for
 * every index it keeps. Around a version switch the two differ: an audience on the new version builds its
 * index, then a request that resolved the old version before the switch asks its audience (current = old);
 * a customer erased then is noted for the old version only, and the new version's index, built before the
 * erasure, keeps serving them for as long as the process serves that version.
 */
describe('an erasure right after a version switch, with an audience of each version asked', () => {
  let t: TestApp;
  let recipesDir: string;
  let older: ServingModel;
  let newer: ServingModel;
  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'erasure-audience-switch-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    t = await createTestApp({ createDb: createPgliteTestDb });
    await seedShop(t.services);
    const train = () => createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    }).train();
    await train();
    await t.services.serving.refresh();
    older = (await t.services.serving.activeModel())!;
    await train();
    await t.services.serving.refresh();
    newer = (await t.services.serving.activeModel())!;
  }, 120_000);
  afterAll(async () => {
    await t.app.close();
    await rm(recipesDir, { recursive: true, force: true });
  });

  it('When a member of the served version\'s audience is erased, Then that version\'s audiences leave them out', async () => {
    expect(newer.meta.version).not.toBe(older.meta.version);
    let served: ServingModel = newer;
    // An audience service as services.ts makes it, told of each erasure as services.ts tells it.
    const audiences = createAudienceService({ model: async () => served, store: t.services.store, profiles: t.services.profiles });
    const popular = (await t.app.inject({ url: '/v1/popular?k=1', headers: auth('admin') })).json().items[0].itemId as string;
    const audienceOf = async (model: ServingModel) => {
      served = model;
      return (await audiences.audience({ itemIds: [popular], k: 50, includeRecentBuyers: true }))!.users.map((u) => u.userId);
    };
    const before = await audienceOf(newer);
    expect(before.length).toBeGreaterThan(2);
    const member = before[0];
    // A request that had resolved the older version before the switch asks its audience now.
    await audienceOf(older);
    served = newer;
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${encodeURIComponent(member)}`, headers: auth('admin') })).statusCode).toBe(204);
    audiences.forgetUser(member);
    expect(await audienceOf(newer)).not.toContain(member);
  });
});
