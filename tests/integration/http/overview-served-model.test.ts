import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { seedTwoShops } from '../training/purchase-fixture.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';

const available = (await serviceAvailable(REDIS_URL)) && (await serviceAvailable(POSTGRES_URL));

/**
 * README: `GET /v1/overview` gives "the served model (version, recipe, age, strategies)", and the dashboard's
 * Overview shows "the served model". When Redis comes back empty (no persistence), the process keeps serving the
 * version in memory (README, "Redis down"): its answers carry that version, and the overview must name it
 * rather than say there is no model (the dashboard then reads "No model yet: start a training below").
 */
describe.skipIf(!available)('the overview while Redis came back empty', () => {
  const prefix = `${randomPrefix('overview')}:`;
  let redis: Redis;
  let t: TestApp;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    t = await createTestApp({ createDb: createPostgresTestDb, store: createRedisModelStore({ url: REDIS_URL, prefix }), env: { RETRAIN_ON_LOST_MODEL: 'false' } });
    await seedTwoShops(t.services);
  });
  afterAll(async () => {
    await t.dispose();
    await unlinkPrefixed(redis, prefix);
    await redis.quit();
  });

  it('When the store lost every version while this process serves one from memory, Then the overview names the version its answers carry', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 120_000);
    expect(job.status).toBe('succeeded');
    const version = job.result.version as string;
    const ask = async () => (await t.app.inject({ url: '/v1/users/g0-u1/recommendations?k=3', headers: auth('read') })).json();
    expect((await ask()).modelVersion).toBe(version);
    const before = (await t.app.inject({ url: '/v1/overview', headers: auth('admin') })).json();
    expect(before.model).toMatchObject({ version, recipe: 'default' });
    expect(before).not.toHaveProperty('activeInStore');
    expect((await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json()).toMatchObject({ active: version, served: version, servedInStore: true });

    // Redis restarted without persistence: every key of this service is gone.
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
    await redis.del(...keys);
    await t.services.serving.refresh();
    expect((await ask()).modelVersion).toBe(version);

    const overview = (await t.app.inject({ url: '/v1/overview', headers: auth('admin') })).json();
    // Observed: model null.
    expect(overview.model).toMatchObject({ version, recipe: 'default', strategies: before.model.strategies });
    // And it says the store has no active version any more.
    expect(overview.activeInStore).toBeNull();

    // The model list says the same: the store holds nothing, this process serves the version from memory.
    // Observed before: { active: null, versions: [] }, as for a shop never trained.
    const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
    expect(models).toEqual({ active: null, versions: [], served: version, servedInStore: false });
    // Readiness says the active model is missing while serving health says this process still answers.
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toMatchObject({ activeModel: false });
    const serving = await t.app.inject({ url: '/health/serving' });
    expect(serving.json().checks).toMatchObject({ model: true });

    // An operator rolling back to the version still served: it exists (answers carry it), so not a 404
    // (observed before: 404 "model version not found"), but the store cannot serve it again.
    const rollback = await t.app.inject({ method: 'POST', url: `/v1/models/${version}/activate`, headers: auth('admin') });
    expect(rollback.statusCode).toBe(409);
    expect(rollback.json().error).toMatchObject({ code: 'CONFLICT' });
    expect(rollback.json().error.message).toContain('no longer holds it');
    // A version nobody serves or keeps is still unknown.
    expect((await t.app.inject({ method: 'POST', url: '/v1/models/v-never/activate', headers: auth('admin') })).statusCode).toBe(404);
    // And nothing changed: still served from memory, the store still empty.
    expect((await ask()).modelVersion).toBe(version);
    expect((await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json()).toEqual({ active: null, versions: [], served: version, servedInStore: false });
  });
});
