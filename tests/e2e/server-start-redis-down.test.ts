import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateServerSupport, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';
import { startAfterFirstStart } from '../helpers/first-start-state.js';
import { getAs, serverStarter, until, withoutRequestLines } from '../helpers/server-process.js';

/**
 * A server started while its Redis is down, with the default waits (REDIS_CONNECT_WAIT_MS,
 * ERASURE_CATCH_UP_RETRY_MS), on a shop whose model the Redis holds (saved, so it comes back when Redis
 * restarts). It used to idle before listening: 5 s for the connection, then 5 s of retries of the erasure
 * catch-up until it gave up ("could not check that the model store still holds every erasure"), and only then
 * listened (about 12 s in all, bench/README.md "Starting with Redis down"). Now it listens at once, the catch-up
 * retried in the background with the model store's versions held back until it has run; once Redis returns,
 * the catch-up runs and the model is served.
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** Starting a process, importing the sample and training it take seconds each on a busy two-core machine. */
const SLOW = 120_000;
const ADMIN = 'admin-key-for-a-redis-down-start';
/** A customer of the first-start sample: the trained model knows them. */
const CUSTOMER = '17420';
/** What the old start logged when its erasure catch-up gave up, before it listened. */
const CATCH_UP_GAVE_UP = 'could not check that the model store still holds every erasure';
const SCRUBBED = 'the model store is scrubbed of the erasures it lost';

describe.skipIf(!runnable)('a server started while Redis is down', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-redis-down-start-'));

  const start = serverStarter(() => ({ DATABASE_URL: pg.url, REDIS_URL: redis.url, API_KEYS: `admin:${ADMIN}`, DATA_DIR: dataDir, TRAIN_THREADS: '1', LOG_LEVEL: 'info' }), children);
  const get = getAs(ADMIN);
  const log = withoutRequestLines;

  beforeAll(async () => {
    // The shop's first start (the sample imported and trained into Redis, which saved it to disk): copies of the kept
    // state it leaves (tests/helpers/first-start-state.ts), made once by a real first start. The Redis loaded the
    // dump from its directory, and loads it again when it is started after the kill.
    ({ pg, redis } = await startAfterFirstStart(dataDir));
    await redis.kill();
  }, SLOW * 2);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pg?.dispose();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When it starts, Then it listens and answers liveness before giving up on Redis, and serves the model once Redis returns', async () => {
    // The default waits: what is tested is that the start does not sit through them.
    const api = await start({ SAMPLE_DATA: 'false' });
    const live = await until(() => get(api.base, '/health/live'), (r) => r.status === 200 || api.child.exitCode !== null, SLOW);
    expect(live.status, log(api.output)).toBe(200);
    const atListen = api.output;
    // It listened while the erasure catch-up was still being retried, not after it gave up.
    expect(atListen).toContain('Server listening');
    expect(atListen).not.toContain(CATCH_UP_GAVE_UP);
    // Unready, saying why; the storefront gets an answer meanwhile (popularity, no model version).
    const notReady = await get(api.base, '/health/ready');
    expect(notReady.status).toBe(503);
    expect((notReady.body?.checks as Record<string, boolean>).erasureCatchUp).toBe(false);
    const degraded = await get(api.base, `/v1/users/${CUSTOMER}/recommendations?k=3`);
    expect(degraded.status, JSON.stringify(degraded.body)).toBe(200);
    expect(degraded.body?.modelVersion).toBeNull();

    await redis.start();
    // Requests keep coming, as a storefront's do.
    const served = await until(
      () => get(api.base, `/v1/users/${CUSTOMER}/recommendations?k=3`),
      (r) => r.status === 200 && r.body?.modelVersion !== null && r.body?.fallback === false,
      SLOW,
    );
    expect(served.body, log(api.output)).toMatchObject({ fallback: false });
    expect(served.body?.modelVersion).toEqual(expect.any(String));
    // The model was served only after the store was scrubbed of the erasures it lost, which came after listening.
    const out = log(api.output);
    expect(out.indexOf(SCRUBBED)).toBeGreaterThan(out.indexOf('Server listening'));
    expect((await until(() => get(api.base, '/health/ready'), (r) => r.status === 200, SLOW)).status).toBe(200);
    expect(out).not.toContain(CATCH_UP_GAVE_UP);
  }, SLOW * 3);
});
