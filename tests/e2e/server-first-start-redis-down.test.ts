import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, privateServerSupport, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';
import { FIRST_START_SAMPLE } from '../helpers/first-start-sample.js';
import { nodeArgs } from '../helpers/built-entry.js';

/**
 * `npm start` on an empty database (SAMPLE_DATA) while Redis does not answer yet: a deployment that starts
 * everything at once, Redis a few seconds after the API. The first start imports the bundled sample, finds
 * no model store to ask for a model, and skips the rest ("first-start check skipped: a store does not
 * answer"). Found under npm start: once Redis answered, nothing ever trained the sample's purchases (no job,
 * no log line), so /health/ready and /health/serving stayed 503 for good; a restart queued the training at once.
 * With Postgres down too at the start, the same once Postgres answered before Redis.
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** Starting a process, importing the sample and training it take seconds each on a busy two-core machine. */
const SLOW = 120_000;
/** Once the stores answer, the first start looks again within seconds, then trains the sample (written weights): a generous give-up. */
const RECOVERY = 300_000;
const ADMIN = 'admin-key-for-a-late-redis';

describe.skipIf(!runnable).each([
  { down: 'Redis', postgresDown: false },
  // Postgres comes first (the start waits for it to migrate), Redis after the first start's import.
  { down: 'Postgres and Redis', postgresDown: true },
])('npm start on an empty database while $down do not answer yet', ({ postgresDown }) => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let api: { child: ChildProcess; output: string };
  let base: string;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-late-redis-'));

  const until = async <T,>(read: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> => {
    const deadline = Date.now() + ms;
    let v = await read();
    while (!done(v) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      v = await read();
    }
    return v;
  };
  const status = (route: string) =>
    fetch(new URL(route, base), { headers: { authorization: `Bearer ${ADMIN}` } }).then(
      (r) => r.status,
      () => 0,
    );
  /** The process's log, without request lines. */
  const log = () => api.output.split('\n').filter((l) => !l.includes('"msg":"request')).join('\n');

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    await redis.kill();
    if (postgresDown) await pg.stop();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Only the keys of this machine's environment that are not the service's own configuration.
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    // Waits that are not what is tested here, made short: the start does not wait 5 s for the Redis that is down
    // (REDIS_CONNECT_WAIT_MS), asks it once for the erasure catch-up instead of for 5 s of retries before it listens
    // (ERASURE_CATCH_UP_RETRY_MS), and the first-start work looks again every 200 ms, not 5 s (FIRST_START_RETRY_MS).
    const child = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: {
        ...env, DATABASE_URL: pg.url, REDIS_URL: redis.url, API_KEYS: `admin:${ADMIN}`, SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, DATA_DIR: dataDir,
        TRAIN_THREADS: '1', LOG_LEVEL: 'info', PORT: String(port), FIRST_START_RETRY_MS: '200', ERASURE_CATCH_UP_RETRY_MS: '0', REDIS_CONNECT_WAIT_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api = { child, output: '' };
    child.stdout!.on('data', (b) => (api.output += b));
    child.stderr!.on('data', (b) => (api.output += b));
  }, SLOW);

  afterAll(async () => {
    api?.child.kill('SIGKILL');
    await pg?.dispose();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When Redis comes after the first start imported the sample, Then the service trains it and becomes ready without a restart', async () => {
    if (postgresDown) {
      const waiting = await until(async () => api.output, (out) => out.includes('waiting for the database'), SLOW);
      expect(waiting, log()).toContain('waiting for the database');
      await pg.start();
    }
    // The first start got as far as the model store, which did not answer.
    const skipped = await until(async () => api.output, (out) => out.includes('first-start check skipped'), SLOW);
    expect(skipped, log()).toContain('sample imported');
    expect(await status('/health/serving')).toBe(503);

    await redis.start();
    // Requests keep coming, as a storefront's and a balancer's do.
    const ready = await until(
      async () => {
        await status('/v1/popular?k=3');
        return status('/health/ready');
      },
      (s) => s === 200,
      RECOVERY,
    );
    expect(ready, log()).toBe(200);
    expect(await status('/health/serving')).toBe(200);
    // Trained as a first start trains the sample (its written weights, in the server), not left to a job.
    expect(log()).toContain('first model trained');
    expect(api.child.exitCode).toBeNull();
  }, SLOW * 2 + RECOVERY);
});
