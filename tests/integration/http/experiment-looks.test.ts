/**
 * Looks at an A/B experiment (experiment_looks, migration 020): an API process with ONLINE_METRICS_COUNT_MS
 * looks at the active experiment in the background, so the always-valid p keeps a crossing that happened
 * between two reads of the report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const ARMS = [
  { name: 'control', strategy: 'popularity', share: 0.5 },
  { name: 'treatment', strategy: 'popularity', share: 0.5 },
];

describe('looks at the active experiment in the background', () => {
  let t: TestApp | undefined;
  afterAll(() => t?.dispose());

  it('When an API process runs with ONLINE_METRICS_COUNT_MS, Then it looks at the active experiment without a report asking, and a later report keeps what it saw', async () => {
    t = await createTestApp({ createDb: createPgliteTestDb, env: { ONLINE_METRICS_COUNT_MS: '200' } });
    const app = t;
    expect(await app.services.onlineMetrics.lookAtActiveExperiment()).toBe(false);
    expect((await app.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: { id: 'bg-1', arms: ARMS } })).statusCode).toBe(201);
    const ts = new Date(Date.now() - 3_600_000).toISOString();
    // 30 customers an arm, 10 impressions each; control customers click i % 3, treatment ones i % 3 + 2.
    const feedback = (lead: (a: number) => number, tag: string) =>
      ARMS.flatMap(({ name: arm }, a) =>
        Array.from({ length: 30 }, (_, i) => [
          ...Array.from({ length: 10 }, (_, k) => ({ userId: `${tag}-${arm}-${i}`, itemId: `i${k}`, type: 'impression', experimentId: 'bg-1', arm, ts })),
          ...Array.from({ length: (i % 3) + lead(a) }, (_, k) => ({ userId: `${tag}-${arm}-${i}`, itemId: `i${k}`, type: 'click', experimentId: 'bg-1', arm, ts })),
        ]).flat(),
      );
    expect((await app.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events: feedback((a) => 2 * a, 'a') } })).statusCode).toBe(200);
    const looked = async () => (await app.services.db.query<{ anytime_p: number }>("SELECT anytime_p FROM experiment_looks WHERE experiment_id = 'bg-1' AND metric = 'ctr'")).rows;
    const deadline = Date.now() + 20_000;
    while ((await looked()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [seen] = await looked();
    expect(seen.anytime_p).toBeLessThan(0.001);
    // Then the arms even out (30 more an arm, the other way round), and the report is read for the first time.
    expect((await app.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events: feedback((a) => 2 * (1 - a), 'b') } })).statusCode).toBe(200);
    const [bg1] = (await app.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments;
    expect(bg1.arms[1].vsControl.ctr.p).toBeCloseTo(1, 9);
    expect(bg1.arms[1].vsControl.ctr.anytimeP).toBeLessThanOrEqual(seen.anytime_p);
  }, 60_000);
});

describe('which reports are looks', () => {
  const HOUR = 3_600_000;
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
  });
  afterAll(() => t.dispose());

  const post = (url: string, payload?: object, scope: 'write' | 'admin' = 'admin') => t.app.inject({ method: 'POST', url, headers: auth(scope), ...(payload ? { payload } : {}) });
  /** `n` customers an arm, 10 impressions each, clicking i % 3 + lead(arm index). */
  const feedback = (experimentId: string, tag: string, ts: string, n: number, lead: (a: number) => number) =>
    ARMS.flatMap(({ name: arm }, a) =>
      Array.from({ length: n }, (_, i) => [
        ...Array.from({ length: 10 }, (_, k) => ({ userId: `${tag}-${arm}-${i}`, itemId: `i${k}`, type: 'impression', experimentId, arm, ts })),
        ...Array.from({ length: (i % 3) + lead(a) }, (_, k) => ({ userId: `${tag}-${arm}-${i}`, itemId: `i${k}`, type: 'click', experimentId, arm, ts })),
      ]).flat(),
    );
  const report = async (days: number, id: string) => {
    const res = await t.app.inject({ url: `/v1/metrics/online?days=${days}`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    const e = res.json().experiments.find((x: { id: string }) => x.id === id);
    return { fromStart: e.fromStart as boolean, customers: e.arms.map((a: { customers: number }) => a.customers), ctr: e.arms[1].vsControl.ctr };
  };

  it("When some of an experiment's feedback is dated before it started, Then a window that misses that feedback is not a look and changes nothing kept", async () => {
    expect((await post('/v1/experiments', { id: 'pre-1', arms: ARMS })).statusCode).toBe(201);
    const at = Date.now();
    await t.services.db.query('UPDATE experiments SET created_at = $1 WHERE id = $2', [new Date(at - 20 * HOUR).toISOString(), 'pre-1']);
    // Feedback dated 6 hours before the experiment (a storefront's clock six hours behind; a backend key may
    // send any past time), the control ahead; then the treatment ahead: over all, the arms click alike.
    expect((await post('/v1/feedback', { events: feedback('pre-1', 'early', new Date(at - 26 * HOUR).toISOString(), 40, (a) => 2 * (1 - a)) }, 'write')).statusCode).toBe(200);
    expect((await post('/v1/feedback', { events: feedback('pre-1', 'late', new Date(at - HOUR).toISOString(), 40, (a) => 2 * a) }, 'write')).statusCode).toBe(200);
    const whole = await report(2, 'pre-1');
    expect(whole).toMatchObject({ fromStart: true, customers: [80, 80] });
    expect(whole.ctr.anytimeP).toBeGreaterThan(0.5);
    // The last day holds only the later half, where the treatment leads: not the experiment from its start.
    const part = await report(1, 'pre-1');
    expect(part).toMatchObject({ fromStart: false, customers: [40, 40] });
    expect(part.ctr.anytimeP).toBeLessThan(0.001);
    expect((await report(2, 'pre-1')).ctr.anytimeP).toBeGreaterThan(0.5);
  });

  it('When an erasure leaves an arm under 30 customers, Then the crossing already kept is still shown', async () => {
    expect((await post('/v1/experiments/pre-1/stop')).statusCode).toBe(200);
    expect((await post('/v1/experiments', { id: 'er-1', arms: ARMS })).statusCode).toBe(201);
    expect((await post('/v1/feedback', { events: feedback('er-1', 'er', new Date(Date.now() - HOUR).toISOString(), 30, (a) => 2 * a) }, 'write')).statusCode).toBe(200);
    const crossed = await report(30, 'er-1');
    expect(crossed.ctr.anytimeP).toBeLessThan(0.001);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/er-control-0', headers: auth('admin') })).statusCode).toBe(204);
    const after = await report(30, 'er-1');
    expect(after).toMatchObject({ fromStart: true, customers: [29, 30] });
    expect(after.ctr).toMatchObject({ anytimeP: crossed.ctr.anytimeP, anytimeLow: crossed.ctr.anytimeLow, anytimeHigh: crossed.ctr.anytimeHigh });
  });

  it('When the active experiment is looked at in the background, Then it is a look while a window can hold it from its start, not once it is older than the longest window', async () => {
    expect((await post('/v1/experiments/er-1/stop')).statusCode).toBe(200);
    expect((await post('/v1/experiments', { id: 'old-1', arms: ARMS })).statusCode).toBe(201);
    expect((await post('/v1/feedback', { events: feedback('old-1', 'old', new Date(Date.now() - HOUR).toISOString(), 30, () => 0) }, 'write')).statusCode).toBe(200);
    const looks = async () => (await t.services.db.query<{ looks: number }>("SELECT looks FROM experiment_looks WHERE experiment_id = 'old-1' AND metric = 'ctr'")).rows.map((r) => r.looks);
    expect(await t.services.onlineMetrics.lookAtActiveExperiment()).toBe(true);
    expect(await looks()).toEqual([1]);
    // Feedback of it dated 9.5 days before it started (a backend's own times): the look reads from there.
    const before = new Date(Date.now() - 9.5 * 86_400_000).toISOString();
    expect((await post('/v1/feedback', { events: feedback('old-1', 'before', before, 1, () => 0) }, 'write')).statusCode).toBe(200);
    expect(await t.services.onlineMetrics.lookAtActiveExperiment()).toBe(true);
    expect(await looks()).toEqual([2]);
    await t.services.db.query("DELETE FROM feedback_events WHERE experiment_id = 'old-1' AND user_id LIKE 'before-%'");
    // 360 days old: a year's report still holds it from its start.
    await t.services.db.query("UPDATE experiments SET created_at = now() - interval '360 days' WHERE id = 'old-1'");
    expect(await t.services.onlineMetrics.lookAtActiveExperiment()).toBe(true);
    expect(await looks()).toEqual([3]);
    await t.services.db.query("UPDATE experiments SET created_at = now() - interval '400 days' WHERE id = 'old-1'");
    expect(await t.services.onlineMetrics.lookAtActiveExperiment()).toBe(false);
    expect(await looks()).toEqual([3]);
  });
});
