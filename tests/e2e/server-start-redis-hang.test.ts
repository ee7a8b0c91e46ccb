import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateServerSupport, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';
import { startAfterFirstStart } from '../helpers/first-start-state.js';
import { getAs, serverStarter, until, withoutRequestLines } from '../helpers/server-process.js';

/**
 * A server started while its Redis takes connections and answers nothing (a private redis-server frozen with
 * SIGSTOP: the kernel's backlog accepts, nothing replies), with the default waits, on a shop whose model the Redis
 * holds. It used to sit through the timeouts one after another before listening (the look at Redis's credentials,
 * a ping, the rate limiter's connection, the erasure catch-up's first try, another ping: about 10 s,
 * bench/README.md "Starting while Redis hangs"). Now the start treats a Redis that took the connection and said
 * nothing as down: it listens, answers liveness and a fallback while the Redis still hangs, holds the model store's
 * versions back (readiness 503, `erasureCatchUp: false`) for as long as it hangs, and serves the model once the
 * Redis answers again and the store has been scrubbed of the erasures it lost. Behaviour, not durations.
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** Starting a process, importing the sample and training it take seconds each on a busy two-core machine. */
const SLOW = 120_000;
const ADMIN = 'admin-key-for-a-redis-hang-start';
/** A customer of the first-start sample: the trained model knows them. */
const CUSTOMER = '17420';
/** What the old start logged when its erasure catch-up gave up, before it listened. */
const CATCH_UP_GAVE_UP = 'could not check that the model store still holds every erasure';
const SCRUBBED = 'the model store is scrubbed of the erasures it lost';

describe.skipIf(!runnable)('a server started while Redis takes connections and answers nothing', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-redis-hang-start-'));

  const start = serverStarter(() => ({ DATABASE_URL: pg.url, REDIS_URL: redis.url, API_KEYS: `admin:${ADMIN}`, DATA_DIR: dataDir, TRAIN_THREADS: '1', LOG_LEVEL: 'info' }), children);
  const get = getAs(ADMIN);
  const log = withoutRequestLines;

  beforeAll(async () => {
    // The shop's first start (the sample imported and trained into Redis): copies of the kept state it leaves
    // (tests/helpers/first-start-state.ts), made once by a real first start.
    ({ pg, redis } = await startAfterFirstStart(dataDir));
    // Frozen: connections are taken and nothing is answered until it is thawed.
    redis.freeze();
  }, SLOW * 2);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pg?.dispose();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When it starts, Then it listens, answers liveness and a fallback while Redis hangs, holds the model until Redis answers, and serves it after', async () => {
    const api = await start({ SAMPLE_DATA: 'false' });
    const live = await until(() => get(api.base, '/health/live'), (r) => r.status === 200 || api.child.exitCode !== null, SLOW);
    expect(live.status, log(api.output)).toBe(200);
    expect(api.output).toContain('Server listening');
    expect(api.output).not.toContain(CATCH_UP_GAVE_UP);
    // It says why it starts as if Redis were down.
    expect(api.output).toContain('Redis took the connection and did not answer');
    // Unready, saying why; the storefront gets an answer meanwhile (popularity, no model version).
    const notReady = await get(api.base, '/health/ready');
    expect(notReady.status).toBe(503);
    expect((notReady.body?.checks as Record<string, boolean>).erasureCatchUp).toBe(false);
    const degraded = await get(api.base, `/v1/users/${CUSTOMER}/recommendations?k=3`);
    expect(degraded.status, JSON.stringify(degraded.body)).toBe(200);
    expect(degraded.body?.modelVersion).toBeNull();
    expect(degraded.body?.fallback).toBe(true);

    // Held for as long as Redis hangs: past the background catch-up's first retries and the store's pings.
    await new Promise((r) => setTimeout(r, 6_000));
    const stillHeld = await get(api.base, `/v1/users/${CUSTOMER}/recommendations?k=3`);
    expect(stillHeld.status).toBe(200);
    expect(stillHeld.body?.modelVersion).toBeNull();
    expect(((await get(api.base, '/health/ready')).body?.checks as Record<string, boolean>).erasureCatchUp).toBe(false);
    expect(log(api.output)).not.toContain(SCRUBBED);

    redis.thaw();
    // Requests keep coming, as a storefront's do.
    const served = await until(
      () => get(api.base, `/v1/users/${CUSTOMER}/recommendations?k=3`),
      (r) => r.status === 200 && r.body?.modelVersion !== null && r.body?.fallback === false,
      SLOW,
    );
    expect(served.body, log(api.output)).toMatchObject({ fallback: false });
    expect(served.body?.modelVersion).toEqual(expect.any(String));
    const out = log(api.output);
    expect(out.indexOf(SCRUBBED)).toBeGreaterThan(out.indexOf('Server listening'));
    expect((await until(() => get(api.base, '/health/ready'), (r) => r.status === 200, SLOW)).status).toBe(200);
    expect(out).not.toContain(CATCH_UP_GAVE_UP);
  }, SLOW * 3);
});
