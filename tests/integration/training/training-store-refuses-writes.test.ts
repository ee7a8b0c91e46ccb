import { mkdirSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, privateServerSupport, startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';
import { fillUntilRefused } from '../../helpers/redis-fill.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { seedTwoShops } from './purchase-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/**
 * A training submitted through the API into a Redis that answers but refuses writes: a replica (READONLY),
 * a Redis full under maxmemory with the noeviction policy (OOM), one whose snapshots fail with
 * stop-writes-on-bgsave-error (MISCONF). Every try meets the same refusal: the training used to retry its
 * writes for a minute and then fail as "Postgres or Redis did not answer". It fails at once, saying the
 * store refuses writes and why.
 */
describe.skipIf(!support.redis)('a training into a Redis that refuses writes', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.dispose();
  });

  async function appOn(redis: PrivateRedis, trainingOutageWaitMs?: number): Promise<{ t: TestApp; retries: string[] }> {
    const store = createRedisModelStore({ url: redis.url, prefix: 'refusing:' });
    const t = await createTestApp({ createDb: createPgliteTestDb, store, env: { TRAIN_THREADS: '1' }, trainingOutageWaitMs });
    opened.push(t);
    await seedTwoShops(t.services);
    return { t, retries: [] };
  }

  async function trainingError(t: TestApp): Promise<string> {
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: {} });
    expect(res.statusCode, res.body).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 120_000);
    expect(job.status).toBe('failed');
    expect(await t.services.store.getActive()).toBeNull();
    return job.error as string;
  }

  it('When REDIS_URL names a replica (READONLY), Then the training fails once a failover would have ended (the job\'s wait), saying the store refused writes as a replica', async () => {
    // A replica of a primary that does not exist: it answers reads, and refuses every write.
    const redis = await startPrivateRedis(['--replicaof', '127.0.0.1', String(await freePort())]);
    opened.push(redis);
    // The wait shortened from the jobs' minute: what is checked is that READONLY is waited through and then told.
    const { t } = await appOn(redis, 5_000);
    const error = await trainingError(t);
    expect(error).toMatch(/READONLY/);
    expect(error).toMatch(/refused writes for longer than the job waits/);
    expect(error).toMatch(/replica/);
    expect(error).not.toMatch(/did not answer/);
  }, 180_000);

  it('When Redis is full under maxmemory with noeviction (OOM), Then the training fails at once saying the store is out of memory', async () => {
    const redis = await startPrivateRedis(['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction']);
    opened.push(redis);
    const { t } = await appOn(redis);
    // Filled up to its limit by other keys (a cache sharing it, say).
    expect(await fillUntilRefused(redis.url)).toMatch(/^OOM /);
    const error = await trainingError(t);
    expect(error).toMatch(/OOM/);
    expect(error).toMatch(/refuses writes/);
    expect(error).toMatch(/maxmemory/);
    expect(error).not.toMatch(/did not answer/);
  }, 180_000);

  it('When Redis cannot save its snapshots (MISCONF), Then the training fails at once saying the store refuses writes until it can', async () => {
    // Snapshots on (save points), into a folder that goes away: the next BGSAVE fails, and with
    // stop-writes-on-bgsave-error (the default) Redis refuses writes.
    const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-misconf-'));
    const snapshots = path.join(dir, 'snapshots');
    mkdirSync(snapshots);
    const redis = await startPrivateRedis(['--save', '3600 1', '--dir', snapshots]);
    opened.push(redis, { dispose: async () => rmSync(dir, { recursive: true, force: true }) });
    const { t } = await appOn(redis);
    rmSync(snapshots, { recursive: true, force: true });
    const admin = new Redis(redis.url);
    try {
      await admin.bgsave();
      await expect.poll(async () => (await admin.info('persistence')).match(/rdb_last_bgsave_status:(\w+)/)?.[1], { timeout: 10_000 }).toBe('err');
    } finally {
      admin.disconnect();
    }
    const error = await trainingError(t);
    expect(error).toMatch(/MISCONF/);
    expect(error).toMatch(/refuses writes/);
    expect(error).not.toMatch(/did not answer/);
  }, 180_000);
});
