/**
 * Readiness (`/health/ready`, DESIGN.md's contract) fails while Postgres or Redis is away, and every
 * replica shares both, so a balancer polling it takes them all out at once. `/health/serving` says
 * whether this process can still answer the storefront (a model in memory), so a balancer may keep
 * sending traffic to degraded answers instead of none. Against a private Postgres and Redis.
 */
import { Redis } from 'ioredis';
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

  it('When the active version is to be checked again (a training was announced) and Redis stops answering meanwhile, Then serving stays 200 on the model in hand', async () => {
    fault.services.serving.invalidate();
    fault.redis.freeze();
    try {
      expect(await health('/health/serving')).toMatchObject({ status: 200, body: { checks: { model: true } } });
    } finally {
      fault.redis.thaw();
    }
  }, 30_000);

  it('When Postgres is down, Then ready is 503 naming the database, while serving stays 200 and known customers are answered', async () => {
    await fault.pg.stop();
    try {
      expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { database: false } } });
      expect(await health('/health/serving')).toMatchObject({ status: 200, body: { checks: { model: true } } });
      expect((await recommend()).status).toBe(200);
      // The online report (its reads in one snapshot transaction) is refused as the database's absence, not a 500.
      for (const path of ['/v1/metrics/online?days=30', '/v1/metrics/online/daily?days=7']) {
        const res = await ask<{ error?: { code?: string } }>(fault.base, 'online', path, { scope: 'admin' });
        expect(res.status, path).toBe(503);
      }
    } finally {
      await fault.pg.start();
    }
  }, 60_000);

  it('When Redis comes back empty, Then ready says no model is active while serving stays 200 on the version in memory; a new process there is not serving', async () => {
    // What an alert reads: the version answered with, and whether the store answers.
    const gauges = async () => {
      const text = (await fault.app.inject({ url: '/metrics' })).body;
      const line = (name: string) => text.split('\n').find((l) => l.startsWith(name)) ?? null;
      return {
        served: line('recsvc_model_served_info'),
        active: line('recsvc_model_active_info'),
        storeUp: line('recsvc_model_store_up '),
        // Absent, not 0, with no model: 0 reads as brand new, and an alert on age > N would never fire.
        hasAge: line('recsvc_model_active_age_seconds ') !== null,
        hasLastTraining: line('recsvc_training_last_success_timestamp_seconds ') !== null,
      };
    };
    const served = `recsvc_model_served_info{version="${fault.version}",recipe="serving-test"} 1`;
    expect(await gauges()).toEqual({ served, active: `recsvc_model_active_info{version="${fault.version}",recipe="serving-test"} 1`, storeUp: 'recsvc_model_store_up 1', hasAge: true, hasLastTraining: true });
    await fault.redis.kill();
    expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { modelStore: false } } });
    expect((await health('/health/serving')).status).toBe(200);
    expect(await gauges()).toMatchObject({ served, storeUp: 'recsvc_model_store_up 0' });
    // A failure to reach it names the store (ioredis's own message names no server), without credentials.
    await expect(fault.services.store.getActive()).rejects.toThrow(new RegExp(`^model store at redis://${new URL(fault.redis.url).host.replace(/\./g, '\\.')}: `));
    await fault.redis.start();
    await until('the store answers again', () => fault.store.ping(), Boolean);
    expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { modelStore: true, activeModel: false } } });
    expect((await health('/health/serving')).status).toBe(200);
    expect((await recommend()).status).toBe(200);
    // A customer with purchases is not told they have none: there is no model with profiles. Read until it is not a
    // 503, the API's "ask again": one clean-clone CI run (load 4-8) got one here once, cause not found. Probed and not
    // it: the artifact reader's own connection (artifact-read-worker.ts) read within 3-21 ms of the main connection's
    // ping after Redis was down 0.3, 3 and 11 s; 30 profile reads right after a Postgres restart were all 404; a 1.5 s
    // stall of the event loop before the read was not shed. A 503 that lasts still fails (15 s), with its body.
    const profile = await until('a profile read that is not "ask again"', () => fault.app.inject({ url: '/v1/users/g-user1/profile', headers: auth('read') }), (res) => res.statusCode !== 503);
    expect(profile.statusCode, profile.body).toBe(404);
    expect(profile.json().error.message).toBe('No customer profiles yet: they are computed when a model is trained');
    // Emptied: no active version, while this process still answers with the one in memory.
    expect(await gauges()).toEqual({ served, active: null, storeUp: 'recsvc_model_store_up 1', hasAge: false, hasLastTraining: false });

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

  it('When the store lost every version though a training has published before, Then the service trains the default recipe again by itself, once, and is ready; not after a failed training', async () => {
    const { services } = fault;
    const { jobs } = services;
    expect(await services.store.getActive()).toBeNull();
    /** Puts a training into the history Postgres keeps, ended as `status`. */
    const ended = async (status: 'succeeded' | 'failed') => {
      const job = await jobs.enqueue('train', { recipe: 'default' });
      expect((await jobs.claimNext(['train'], 'an-earlier-worker'))!.id).toBe(job.id);
      expect(await (status === 'succeeded' ? jobs.succeed(job.id, 'an-earlier-worker', { version: 'lost' }) : jobs.fail(job.id, 'an-earlier-worker', 'it broke'))).toBe(true);
    };
    const trainings = async () => (await jobs.list({ type: 'train', limit: 100 })).length;
    // What is looked at is the retraining: the version has no copy to put back (a version trained before copies were
    // kept; MODEL_COPIES puts one back instead: tests/integration/training/model-restore.test.ts).
    await fault.db.query('DELETE FROM model_copies');

    // No training ever ended here (the fixture published directly): a new shop, left alone.
    expect(await services.modelRecovery!.recover()).toBeNull();
    // The newest training failed: trying again every minute would train for ever; a person decides.
    await ended('succeeded');
    await ended('failed');
    expect(await services.modelRecovery!.recover()).toBeNull();

    // The newest one succeeded: any request (a probe will do) makes the service look, once started.
    await ended('succeeded');
    const before = await trainings();
    expect((await health('/health/live')).status).toBe(200);
    expect(await trainings()).toBe(before); // not started yet (the server starts it after its first-start work)
    services.modelRecovery!.start();
    expect((await health('/health/live')).status).toBe(200);
    const [queued] = await until('a training queued', () => jobs.list({ type: 'train', limit: 1 }), (js) => js.length > 0 && js[0].workerId !== 'an-earlier-worker');
    expect(await until('the training', async () => (await jobs.get(queued.id))!.status, (st) => st === 'succeeded' || st === 'failed', 60_000)).toBe('succeeded');
    await until('ready', async () => (await health('/health/ready')).status, (st) => st === 200);
    // Looked at again (throttled, then directly): a version is active, nothing more is queued.
    expect((await health('/health/live')).status).toBe(200);
    expect(await services.modelRecovery!.recover()).toBeNull();
    expect(await trainings()).toBe(before + 1);
  }, 120_000);

  it('When the active version\'s keys are gone while the pointer still names it (evicted, a shard restarted empty), Then ready and the metrics say so, the service trains again by itself, and a rollback to the lost version is refused', async () => {
    const { services, app } = fault;
    const lost = (await services.store.getActive())!;
    // The previous test's training published it, so its metadata records what was written.
    expect(lost.info).toHaveProperty('contents');
    const redis = new Redis(fault.redis.url);
    try {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `*{v:${lost.version}}*`, count: 1000 })) keys.push(...(batch as string[]));
      expect(keys.length).toBeGreaterThan(2);
      await redis.unlink(...keys);
    } finally {
      redis.disconnect();
    }
    expect((await services.store.getActive())?.version).toBe(lost.version);
    expect(await health('/health/ready')).toMatchObject({ status: 503, body: { checks: { modelStore: true, activeModel: false } } });
    const parts = async () => {
      const scrape = await app.inject({ url: '/metrics' });
      return Number(/^recsvc_model_active_missing_parts (\S+)$/m.exec(scrape.body)?.[1]);
    };
    expect(await parts()).toBeGreaterThan(2);

    const jobId = await services.modelRecovery!.recover();
    expect(jobId).not.toBeNull();
    expect(await until('the training', async () => (await services.jobs.get(jobId!))!.status, (st) => st === 'succeeded' || st === 'failed', 60_000)).toBe('succeeded');
    await until('ready', async () => (await health('/health/ready')).status, (st) => st === 200);
    expect(await parts()).toBe(0);
    expect(await recommend()).toMatchObject({ status: 200, body: { fallback: false } });

    // Serving the lost version again would answer every customer with a fallback.
    const rollback = await ask<{ error?: { code?: string; message?: string } }>(fault.base, 'rollback', `/v1/models/${lost.version}/activate`, { method: 'POST', scope: 'admin' });
    expect(rollback).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT' } } });
    expect(rollback.body.error?.message).toContain('lost');
    expect((await services.store.getActive())?.version).not.toBe(lost.version);
  }, 120_000);
});
