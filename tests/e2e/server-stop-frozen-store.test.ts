import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, privateServerSupport, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';
import { nodeArgs } from '../helpers/built-entry.js';

/**
 * Stopping `npm start` while a request waits on a Postgres that stopped answering (a paused VM, a dead
 * link): the request's statement gives up at PG_QUERY_TIMEOUT_MS (10 s), which was also when the forced
 * exit came, so the request got no answer and the process exited with code 1, which an orchestrator reads
 * as a crash. Against a private Postgres the test freezes.
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!runnable)('npm start stopped while a request waits on a frozen Postgres', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let server: ChildProcess;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-stop-'));
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  }, 60_000);
  afterAll(async () => {
    server?.kill('SIGKILL');
    await pg?.dispose();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When SIGTERM comes while a request waits on a frozen Postgres, Then the request is answered 503 and the server exits with code 0', async () => {
    const port = await freePort();
    const key = 'an-admin-key-for-tests';
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    server = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: { ...env, DATABASE_URL: pg.url, REDIS_URL: redis.url, DATA_DIR: dataDir, PORT: String(port), SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', API_KEYS: `admin:${key}` },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    // Ready: the pool holds a connection to Postgres, which the next read takes.
    while (!(await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 200));
    await pg.freeze();
    try {
      const answer = fetch(`http://127.0.0.1:${port}/v1/users?limit=5`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status, () => 0);
      await new Promise((r) => setTimeout(r, 500));
      server.kill('SIGTERM');
      expect(await answer).toBe(503);
      // The forced exit exits with 1.
      expect(await exited).toBe(0);
    } finally {
      await pg.thaw();
    }
  }, 90_000);
});
