/**
 * Feedback sent with the public frontend key: its labels make up the online reports (strategies, experiment
 * arms, the feedback gauges), so a browser's labels are kept only when the service could have served
 * them (its experiment arms only from the signed recommendationId of a list served in them: see
 * signed-recommendation-ids.test.ts), and a browser cannot date feedback far back (each closed day it names is counted again by the next
 * report). A server's write key is trusted with both, as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_FEEDBACK_DAYS_BACK } from '../../../src/serving/recommendation-ids.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, createTestApp, finishedJob, KEYS, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';
import { seedShop, SHOP_RECIPE, trainAndPublish } from '../serving/shop-fixture.js';

const FRONTEND = 'frontend-key-labels-1';
const DAY = 86_400_000;
const EXPERIMENT = {
  id: 'home-2',
  arms: [
    { name: 'control', strategy: 'hybrid', share: 0.5 },
    { name: 'treatment', strategy: 'popularity', share: 0.5 },
  ],
};

type Row = { strategy: string | null; experimentId?: string | null; arm?: string | null; impressions: number; clicks: number };

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`feedback labels from a browser on ${backend.name}`, () => {
    let t: TestApp;
    const exportDir = mkdtempSync(join(tmpdir(), 'feedback-labels-'));
    beforeAll(async () => {
      t = await createTestApp({
        createDb: backend.create,
        env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`, EXPORT_DIR: exportDir },
      });
      await seedShop(t.services);
      await trainAndPublish(t.services);
      const created = await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: EXPERIMENT });
      expect(created.statusCode, created.body).toBe(201);
    }, 60_000);
    afterAll(async () => {
      await t?.dispose();
      rmSync(exportDir, { recursive: true, force: true });
    });

    const send = (key: string, events: object[]) => t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${key}` }, payload: { events } });
    const report = async () =>
      (await t.app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).json() as {
        since: string;
        strategies: Row[];
        experiments: { id: string; arms: { name: string; impressions: number }[] }[];
        campaigns: { campaignId: string; impressions: number }[];
      };
    const daily = async () => (await t.app.inject({ url: '/v1/metrics/online/daily?days=30', headers: auth('admin') })).json() as { rows: Row[] };
    const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

    it('When a browser labels feedback with a strategy the service does not serve, or an experiment arm without a list served in it, Then the events count without that label and the answer says how many lost one', async () => {
      const ts = hourAgo();
      const res = await send(FRONTEND, [
        { userId: 'visitor-1', itemId: 'g1', type: 'impression', strategy: 'hybrid', ts },
        { userId: 'visitor-1', itemId: 'g2', type: 'impression', strategy: 'made-up-strategy', ts },
        { userId: 'visitor-1', itemId: 'g3', type: 'impression', strategy: 'popularity', experimentId: 'home-2', arm: 'treatment', ts },
        { userId: 'visitor-1', itemId: 'g4', type: 'impression', strategy: 'popularity', experimentId: 'home-2', arm: 'forged-arm', ts },
        { userId: 'visitor-1', itemId: 'g5', type: 'impression', strategy: 'hybrid', experimentId: 'no-such-experiment', arm: 'a', ts },
        { userId: 'visitor-1', itemId: 'g6', type: 'click', strategy: 'cooccurrence', ts },
      ]);
      expect(res.statusCode, res.body).toBe(200);
      // g3 names a real arm, but no signed recommendationId of a list served in it (signed-recommendation-ids.test.ts).
      expect(res.json()).toEqual({ accepted: 6, unknownItems: 0, unknownLabels: 4 });

      const r = await report();
      const byStrategy = new Map(r.strategies.map((s) => [s.strategy, s]));
      expect(byStrategy.has('made-up-strategy')).toBe(false);
      // Every event still counts: g2 under no strategy, g4 and g5 under the strategy they named.
      expect(byStrategy.get('hybrid')).toMatchObject({ impressions: 2 });
      expect(byStrategy.get('popularity')).toMatchObject({ impressions: 2 });
      expect(byStrategy.get(null)).toMatchObject({ impressions: 1 });
      expect(byStrategy.get('cooccurrence')).toMatchObject({ clicks: 1 });
      const arms = r.experiments.find((e) => e.id === 'home-2')!.arms;
      expect(arms.map((a) => [a.name, a.impressions])).toEqual([['control', 0], ['treatment', 0]]);
      expect((await daily()).rows.filter((d) => d.experimentId != null)).toEqual([]);
    });

    it('When a browser names a campaign, Then it is kept only when an export was made for that campaign', async () => {
      const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv', campaignId: 'spring-mail' } });
      expect(start.statusCode, start.body).toBe(202);
      expect((await finishedJob(t, `/v1/exports/${start.json().jobId}`, 120_000)).status).toBe('succeeded');
      const ts = hourAgo();
      const res = await send(FRONTEND, [
        { userId: 'visitor-3', itemId: 'g1', type: 'click', strategy: 'hybrid', campaignId: 'spring-mail', ts },
        { userId: 'visitor-3', itemId: 'g2', type: 'click', strategy: 'hybrid', campaignId: 'made-up-campaign', ts },
      ]);
      expect(res.json()).toEqual({ accepted: 2, unknownItems: 0, unknownLabels: 1 });
      expect((await report()).campaigns.map((c) => c.campaignId)).toEqual(['spring-mail']);
    }, 150_000);

    it('When a list was served just before a version without its strategy took over, Then a click on it keeps its label', async () => {
      const list = (await t.app.inject({ url: '/v1/users/g-user1/recommendations?k=3&strategy=als', headers: auth('read') })).json();
      expect(list.strategy).toBe('als');
      const { als: _, ...sources } = SHOP_RECIPE.sources;
      const { als: __, ...warm } = SHOP_RECIPE.hybrid.weights.warm;
      await trainAndPublish(t.services, `v-without-als-${backend.name}`, { ...SHOP_RECIPE, sources, hybrid: { ...SHOP_RECIPE.hybrid, weights: { ...SHOP_RECIPE.hybrid.weights, warm } } });
      expect((await t.app.inject({ url: '/v1/users/g-user1/recommendations?strategy=als', headers: auth('read') })).statusCode).toBe(400);
      const res = await send(FRONTEND, [{ userId: 'flip-visitor', itemId: list.items[0].itemId, type: 'click', strategy: 'als', recommendationId: list.recommendationId, ts: new Date().toISOString() }]);
      expect(res.json()).toEqual({ accepted: 1, unknownItems: 0, unknownLabels: 0 });
      expect((await report()).strategies.find((s) => s.strategy === 'als')).toMatchObject({ clicks: 1 });
    });

    it("When a browser sends feedback of an erased customer, Then the answer is the one another customer's would get", async () => {
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') })).statusCode).toBeLessThan(300);
      // Dated before the erasure: the erased customer's events are not stored; the answer must not say so.
      const probe = async (userId: string) =>
        (
          await send(FRONTEND, [
            { userId, itemId: 'g1', type: 'impression', strategy: 'not-a-strategy', ts: new Date(Date.now() - 6 * DAY).toISOString() },
            { userId, itemId: 'no-such-item', type: 'impression', ts: new Date(Date.now() - 6 * DAY).toISOString() },
          ])
        ).json();
      const erased = await probe('g-user3');
      expect(erased).toEqual({ accepted: 2, unknownItems: 1, unknownLabels: 1 });
      expect(await probe('g-user4')).toEqual(erased);
    });

    it("When a server's write key sends labels of its own, Then they are kept as sent", async () => {
      const res = await send(KEYS.write, [{ userId: 'backend-user', itemId: 'k1', type: 'impression', strategy: 'editorial-picks', ts: hourAgo() }]);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).not.toHaveProperty('unknownLabels');
      expect((await report()).strategies.map((s) => s.strategy)).toContain('editorial-picks');
    });

    it(`When a browser dates feedback more than ${BROWSER_FEEDBACK_DAYS_BACK} days back, Then 400 names the events and none of the batch is stored; a write key may`, async () => {
      const counts = async () => {
        const { since: _, ...rest } = await report();
        return rest;
      };
      const before = await counts();
      const old = new Date(Date.now() - (BROWSER_FEEDBACK_DAYS_BACK + 1) * DAY).toISOString();
      const recent = new Date(Date.now() - (BROWSER_FEEDBACK_DAYS_BACK - 1) * DAY).toISOString();
      const res = await send(FRONTEND, [
        { userId: 'visitor-2', itemId: 'g1', type: 'impression', strategy: 'hybrid', ts: recent },
        { userId: 'visitor-2', itemId: 'g2', type: 'impression', strategy: 'hybrid', ts: old },
      ]);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'body.events.1.ts' }] });
      expect(res.json().error.message).toMatch(/frontend key .* at most 7 days back; events 1 are older/);
      expect(await counts()).toEqual(before);

      const server = await send(KEYS.write, [{ userId: 'visitor-2', itemId: 'g2', type: 'impression', strategy: 'hybrid', ts: old }]);
      expect(server.statusCode, server.body).toBe(200);
      expect(server.json()).toMatchObject({ inserted: 1 });
    });
  });
}
