import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, privateServerSupport, startPrivateRedis } from '../../helpers/private-servers.js';
import { auth, createTestApp, finishedJob } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { seedTwoShops } from './purchase-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/**
 * READONLY is not only "REDIS_URL names a replica": the README gives "a failover is under way" as its other
 * cause, and a failover ends by itself, in seconds, with the node (or the name REDIS_URL resolves to) taking
 * writes again. The job's writes waited through it (retryWhileUnavailable, about a minute); since 611a6db every
 * READONLY fails the job at once, as if only an operator could lift it, so a training that meets the switch
 * is lost (a long one, all its work) where waiting a few seconds would have published it.
 */
describe.skipIf(!support.redis)('a training that meets READONLY for the moment of a failover', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.dispose();
  });

  it('When the store answers READONLY to the training and takes writes again once the failover completes, Then the training waits for it and succeeds', async () => {
    // A node demoted in the failover (a replica of a primary not reachable): it answers reads, refuses writes.
    const redis = await startPrivateRedis(['--replicaof', '127.0.0.1', String(await freePort())]);
    opened.push(redis);
    const store = createRedisModelStore({ url: redis.url, prefix: 'failover:' });
    const t = await createTestApp({ createDb: createPgliteTestDb, store, env: { TRAIN_THREADS: '1' } });
    opened.push(t);
    await seedTwoShops(t.services);
    const admin = new Redis(redis.url);
    opened.push({ dispose: async () => admin.disconnect() });
    const readonlyReplies = async () => Number((await admin.info('errorstats')).match(/errorstat_READONLY:count=(\d+)/)?.[1] ?? 0);
    const before = await readonlyReplies();

    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: {} });
    expect(res.statusCode, res.body).toBe(202);
    // The training has met the refusal: the failover completes, and this node is the primary now.
    await expect.poll(readonlyReplies, { timeout: 60_000, interval: 20 }).toBeGreaterThan(before);
    await admin.replicaof('NO', 'ONE');

    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 120_000);
    expect(job.error ?? null).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(await t.services.store.getActive()).not.toBeNull();
  }, 180_000);
});
