/**
 * Customer profiles and segments when Redis has come back empty (no persistence) while this process still
 * serves the version it holds in memory. The profiles of that version, held in memory too, answered
 * "No customer profiles yet" (404), and segments and segment-filtered audiences and exports failed, until a
 * training published again, while recommendations were still served from the same version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { faultTestsRunnable, startFaultApp, until, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

describe.skipIf(!runnable)('profiles and segments after Redis came back empty', () => {
  let fault: FaultApp;
  let version: string;

  beforeAll(async () => {
    // No training queued by itself: what the process answers from what it holds is what is looked at.
    fault = await startFaultApp({ RETRAIN_ON_LOST_MODEL: 'false', TRAIN_THREADS: '1' });
    // A training as the API runs it (the fixture's version has no profiles): it computes the customers' profiles.
    version = (await fault.services.trainer.train({ tune: false })).version;
    await fault.services.serving.refresh();
  }, 240_000);

  afterAll(async () => {
    await fault?.dispose();
  });

  it('When Redis restarts empty, Then the profiles and segments of the version served from memory still answer, naming that version', async () => {
    const profile = await fault.app.inject({ url: '/v1/users/g-user1/profile', headers: auth('read') });
    expect(profile.statusCode).toBe(200);
    expect(profile.json().modelVersion).toBe(version);
    const segments = await fault.app.inject({ url: '/v1/segments', headers: auth('admin') });
    expect(segments.statusCode).toBe(200);

    await fault.redis.kill();
    await fault.redis.start();
    await until('the store answers again', () => fault.store.ping(), Boolean);
    expect(await fault.store.getActive()).toBeNull();
    // Recommendations still come from the version in memory.
    const recs = await fault.app.inject({ url: '/v1/users/g-user1/recommendations?k=3', headers: auth('read') });
    expect(recs.statusCode).toBe(200);
    expect(recs.json().modelVersion).toBe(version);

    const after = await fault.app.inject({ url: '/v1/users/g-user1/profile', headers: auth('read') });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual(profile.json());
    const segmentsAfter = await fault.app.inject({ url: '/v1/segments', headers: auth('admin') });
    expect(segmentsAfter.statusCode).toBe(200);
    expect(segmentsAfter.json()).toEqual(segments.json());
    expect(fault.crashes).toEqual([]);
  }, 180_000);
});
