/**
 * README "Erasure": an erasure owed is completed by every process of the service, `npm run worker` too (a deployment
 * whose API replicas are down or scaled to zero), and the re-driver waits for a model store that takes writes: one
 * that answers and refuses them (READONLY: a replica, a failover under way) is not tried, so no failed try and no
 * back-off (up to 15 minutes) is spent on it. Real Postgres (a schema of the shared test database), a redis-server of
 * the test's own, and the worker as a process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { DEFAULT_REDIS_PREFIX } from '../../../src/store/create-model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { nodeArgs } from '../../helpers/built-entry.js';
import type { TestApp } from '../../helpers/app.js';
import { owedErasureServers } from '../../helpers/owed-erasure-app.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { freePort, privateServerSupport } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndPublishShop } from '../serving/shop-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('erasures owed, completed by the worker and waited for while the store refuses writes', () => {
  const servers = owedErasureServers();
  /** An API process on the worker's store (its default prefix), whose own re-driver waits an hour (the test calls its pass). */
  let a: TestApp;
  let version: string;
  let dataDir: string;
  const children: ChildProcess[] = [];
  const count = async (sql: string, id: string) => (await servers.db.query<{ n: number }>(sql, [id])).rows[0].n;
  const purchases = (id: string) => count('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', id);
  const erased = (id: string) => count('SELECT count(*)::int AS n FROM erased_users WHERE user_id = $1', id);
  /** Owed and due: what a DELETE answered 503 leaves once its back-off is over. */
  const owe = (id: string) => servers.db.query('INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now())', [id]);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'redrive-worker-'));
    a = await servers.app();
    version = await seedAndPublishShop(a.services);
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('When the model store answers READONLY, Then the erasure owed is not tried (no failed try, no back-off), and it completes once the store takes writes', async () => {
    const client = new Redis(servers.redis.url);
    try {
      await owe('k-user4');
      // A replica of a master that is not there: it answers (a ping), serves its data, and refuses writes.
      await client.call('REPLICAOF', '127.0.0.1', String(await freePort()));
      expect(await a.services.store.ping()).toBe(true);
      expect(await a.services.store.acceptsWrites!()).toBe(false);

      expect(await a.services.erasureRedriver.pass()).toEqual({ pending: 1, redriven: 0, failed: 0 });
      const { rows } = await servers.db.query<{ attempts: number; last_error: string | null; due: boolean }>(
        "SELECT attempts, last_error, next_at <= now() AS due FROM erasure_requests WHERE user_id = 'k-user4'",
      );
      expect(rows).toEqual([{ attempts: 0, last_error: null, due: true }]);

      await client.call('REPLICAOF', 'NO', 'ONE');
      await waitUntil('the store taking writes', () => a.services.store.acceptsWrites!(), 60_000);
      expect(await a.services.erasureRedriver.pass()).toEqual({ pending: 1, redriven: 1, failed: 0 });
      expect(await erased('k-user4')).toBe(1);
      expect(await purchases('k-user4')).toBe(0);
    } finally {
      client.disconnect();
    }
  }, 120_000);

  it('When only a worker runs, Then it completes an erasure owed, and stops cleanly after', async () => {
    // No API process: the one that trained is closed.
    await a.dispose();
    await owe('g-user3');
    expect(await purchases('g-user3')).toBeGreaterThan(0);

    const worker = spawn(process.execPath, nodeArgs('src/cli/worker-command.ts'), {
      env: servers.processEnv({ DATA_DIR: dataDir, ERASURE_REDRIVE_MS: '200', LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(worker);
    let output = '';
    worker.stdout!.on('data', (b) => (output += b));
    worker.stderr!.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));

    try {
      await waitUntil('the worker completing the erasure', async () => (await erased('g-user3')) === 1, 60_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the worker said:\n${output}`);
    }
    expect(await purchases('g-user3')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1', 'g-user3')).toBe(0);
    const store = createRedisModelStore({ url: servers.redis.url, prefix: DEFAULT_REDIS_PREFIX });
    try {
      expect((await store.getEntries(version, USERS_TABLE, ['g-user3']))[0]).toBeNull();
      expect((await store.getEntries(version, USERS_TABLE, ['g-user4']))[0]).not.toBeNull();
    } finally {
      await store.close();
    }
    expect(output).toMatch(/completed erasures that were asked for and had failed/);

    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/worker stopped/);
  }, 180_000);
});
