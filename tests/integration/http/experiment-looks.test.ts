/**
 * Looks at an A/B experiment (experiment_looks, migration 020): an API process with ONLINE_METRICS_COUNT_MS
 * looks at the active experiment in the background, so the always-valid p keeps a crossing that happened
 * between two reads of the report.
 */
import { afterAll, describe, expect, it } from 'vitest';
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
