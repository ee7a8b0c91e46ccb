/**
 * Readiness (`/health/ready`, DESIGN.md's contract) fails while Postgres or Redis is away, and every
 * replica shares both, so a balancer polling it takes them all out at once. `/health/serving` says
 * whether this process can still answer the storefront (a model in memory), so a balancer may keep
 * sending traffic to degraded answers instead of none. Against a private Postgres and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { openDatabase } from '../../../src/data/open-database.js';
import { createServices } from '../../../src/services.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import { auth, KEYS } from '../../helpers/app.js';
import { ask, faultTestsRunnable, startFaultApp, until, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

type Health = { status?: string; checks?: Record<string, boolean> };

describe.skipIf(!runnable)('a replica that can still serve while its stores are away', () => {
  let fault: FaultApp;
  beforeAll(async () => {
    fault = await startFaultApp();
  }, 120_000);
  afterAll(() => fault?.dispose());

  const health = async (path: string) => ask<Health>(fault.base, path, path);
  const recommend = () => ask<{ fallback?: boolean }>(fault.base, 'recs', '/v1/users/g-user1/recommendations?k=5', { scope: 'read' });

  it('When both stores answer, Then ready and serving both say ok', async () => {
    expect((await health('/health/ready')).status).toBe(200);
    expect(await health('/health/serving')).toMatchObject({ status: 200, body: { status: 'ok', checks: { model: true } } });
  });

  it('When Postgres is down, Then ready is 503 naming the database, while serving stays 200 and known customers are answered', async () => {
    await fault.pg.stop();
    try {
      expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { database: false } } });
      expect(await health('/health/serving')).toMatchObject({ status: 200, body: { checks: { model: true } } });
      expect((await recommend()).status).toBe(200);
    } finally {
      await fault.pg.start();
    }
  }, 60_000);

  it('When Redis comes back empty, Then ready says no model is active while serving stays 200 on the version in memory; a new process there is not serving', async () => {
    await fault.redis.kill();
    expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { modelStore: false } } });
    expect((await health('/health/serving')).status).toBe(200);
    await fault.redis.start();
    await until('the store answers again', () => fault.store.ping(), Boolean);
    expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { modelStore: true, activeModel: false } } });
    expect((await health('/health/serving')).status).toBe(200);
    expect((await recommend()).status).toBe(200);

    // A process started now has no model to serve: it must not take storefront traffic.
    const config = loadConfig({ API_KEYS: `read:${KEYS.read}`, DATABASE_URL: fault.pg.url, REDIS_URL: fault.redis.url, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent' });
    const db = await openDatabase(config);
    const store = await createModelStore(config);
    const app = await buildApp(createServices({ config, db, store }));
    try {
      const res = await app.inject({ url: '/health/serving' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unavailable', checks: { model: false } });
      expect((await app.inject({ url: '/v1/users/g-user1/recommendations?k=5', headers: auth('read') })).json()).toMatchObject({ fallback: true });
    } finally {
      await app.close();
      await store.close();
      await db.close();
    }
  }, 60_000);

  it('When the store lost every version though a training has published before, Then the service trains again by itself, once, and is ready', async () => {
    const { services } = fault;
    expect(await services.store.getActive()).toBeNull();
    // The history Postgres keeps: a training that succeeded (its params are what the new one repeats).
    const { jobs } = services;
    // No training job ever succeeded here (the fixture published directly): a new shop, left alone.
    expect(await services.modelRecovery!.recover()).toBeNull();
    const earlier = await jobs.enqueue('train', { recipe: 'default', tune: false });
    const held = (await jobs.claimNext(['train'], 'an-earlier-worker'))!;
    expect(held.id).toBe(earlier.id);
    expect(await jobs.succeed(earlier.id, 'an-earlier-worker', { version: 'lost-with-redis' })).toBe(true);

    const jobId = await services.modelRecovery!.recover();
    expect(jobId).toEqual(expect.any(String));
    // Found again by another replica (or the next look) while it runs: refused, not queued twice.
    expect(await services.modelRecovery!.recover()).toBeNull();
    const done = await until('the training', async () => (await jobs.get(jobId!))!.status, (s) => s === 'succeeded' || s === 'failed', 60_000);
    expect(done).toBe('succeeded');
    expect((await jobs.get(jobId!))!.params).toMatchObject({ recipe: 'default', tune: false });
    await until('ready', async () => (await health('/health/ready')).status, (s) => s === 200);
    // With a version active again, nothing more is queued.
    expect(await services.modelRecovery!.recover()).toBeNull();
  }, 120_000);
});
