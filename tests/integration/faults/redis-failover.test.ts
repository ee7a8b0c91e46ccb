/**
 * A Redis failover behind one address (a virtual IP, a DNS name, a proxy that follows the primary): the
 * replica is promoted and the old primary becomes its replica, while the service's open connections stay
 * with the old one, which now answers every write READONLY. New connections reach the new primary.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../../src/training/train-model.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';
import { SHOP_RECIPE } from '../serving/shop-fixture.js';
import { faultTestsRunnable, startFaultApp, until, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

/** Runs one command on the server at `url` with a connection of its own. */
async function command(url: string, ...args: string[]): Promise<unknown> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    return await redis.call(args[0], ...args.slice(1));
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits until the replica holds every write the primary at `url` took: WAIT counts the replicas that acknowledged
 * the calling connection's writes, so a write of its own on one connection fences every earlier one (the
 * replication stream is in order). Returns how many replicas acknowledged.
 */
async function replicated(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    await redis.set('failover-test:fence', String(Date.now()));
    return Number(await redis.call('WAIT', '1', '30000'));
  } finally {
    redis.disconnect();
  }
}

const replication = async (url: string) => String(await command(url, 'INFO', 'replication'));

describe.skipIf(!runnable)('a training through a Redis failover behind one address', () => {
  let fault: FaultApp;
  let replica: PrivateRedis;
  let recipesDir: string;

  beforeAll(async () => {
    fault = await startFaultApp({}, { redisProxy: true });
    replica = await startPrivateRedis(['--replicaof', '127.0.0.1', String(fault.redis.port)]);
    await until('the replica in sync', () => replication(replica.url), (info) => info.includes('master_link_status:up'), 30_000);
    recipesDir = await mkdtemp(join(tmpdir(), 'failover-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 120_000);

  afterAll(async () => {
    await fault?.dispose();
    await replica?.dispose();
    if (recipesDir) await rm(recipesDir, { recursive: true, force: true });
  });

  it('When the primary is swapped for its replica while a training writes its version, Then the training reconnects to the new primary and publishes there', async () => {
    const { services } = fault;
    const before = (await services.store.getActive())!.version;
    const retries: string[] = [];
    const trainer = createTrainer({
      events: services.events,
      catalog: services.catalog,
      store: services.store,
      defaultRecipe: 'serving-test',
      recipesDir,
      isolation: 'inline',
      threads: 1,
      storeRecommenders: false,
      erasures: services.erasure,
      log: (msg) => retries.push(msg),
      rowChunks: { users: 2 },
      afterStep: async (step) => {
        if (step !== 'write') return;
        // The failover, as a planned one runs it (Sentinel's or a managed Redis's): once the replica holds every
        // write (replication is asynchronous: promoted before, it lacks the version's tail, and the training
        // rightly refuses to publish what the store no longer holds), the replica promoted, the old primary
        // made its replica, the address moved.
        expect(await replicated(fault.redis.url)).toBe(1);
        await command(replica.url, 'REPLICAOF', 'NO', 'ONE');
        await command(fault.redis.url, 'REPLICAOF', '127.0.0.1', String(replica.port));
        fault.proxy!.retarget(replica.url);
      },
    });
    const { version } = await trainer.train({});
    expect(version).not.toBe(before);
    // Published on the new primary, whole.
    expect((await services.store.getActive())!.version).toBe(version);
    expect(await services.store.getEntries(version, USERS_TABLE, ['g-user1'])).toEqual([expect.any(Uint8Array)]);
    expect(await replication(fault.proxy!.url)).toContain('role:master');
    expect(fault.crashes).toEqual([]);
  }, 120_000);
});
