/**
 * Every answer's recommendationId is a token the service signs (src/serving/recommendation-token.ts) under a
 * key kept in Postgres: feedback sent with the public frontend key gets its strategy, experiment and arm from
 * the list it names, so a browser cannot skew an A/B test with a real arm's name on made-up lists. A server's
 * key is trusted with its labels, as before.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, KEYS, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND, type TestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

const FRONTEND = 'frontend-key-signed-ids-1';
const ENV = { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` };
const EXPERIMENT = {
  id: 'signed-ab',
  arms: [
    { name: 'control', strategy: 'hybrid', share: 0.5 },
    { name: 'treatment', strategy: 'popularity', share: 0.5 },
  ],
};

type Arm = { name: string; impressions: number; clicks: number; addToCart: number };

/** One character of `token` changed (to another of the base64url alphabet). */
const tamper = (token: string, at: number) => token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`signed recommendationIds on ${backend.name}`, () => {
    let t: TestApp;
    let testDb: TestDb;
    /** A customer of each arm, with the list the service served them. */
    const served = new Map<string, { userId: string; list: { recommendationId: string; strategy: string; items: { itemId: string }[]; experiment: { id: string; arm: string } } }>();
    const exportDir = mkdtempSync(join(tmpdir(), 'signed-ids-'));
    beforeAll(async () => {
      testDb = await backend.create();
      // The database outlives the app: a second app (replica) is built on it below.
      t = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }), env: { ...ENV, EXPORT_DIR: exportDir } });
      await seedShop(t.services);
      await trainAndPublish(t.services);
      const created = await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: EXPERIMENT });
      expect(created.statusCode, created.body).toBe(201);
      for (let j = 0; j < 12 && served.size < 2; j++) {
        const userId = `g-user${j}`;
        const list = (await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3`, headers: auth('read') })).json();
        if (list.experiment && !served.has(list.experiment.arm)) served.set(list.experiment.arm, { userId, list });
      }
      expect([...served.keys()].sort()).toEqual(['control', 'treatment']);
    }, 60_000);
    afterAll(async () => {
      await t?.dispose();
      await testDb?.dispose();
      rmSync(exportDir, { recursive: true, force: true });
    });

    const send = (key: string, events: object[], app = t.app) =>
      app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${key}` }, payload: { events } });
    const arms = async (app = t.app): Promise<Map<string, Arm>> => {
      const r = (await app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).json() as { experiments: { id: string; arms: Arm[] }[] };
      return new Map(r.experiments.find((e) => e.id === EXPERIMENT.id)!.arms.map((a) => [a.name, a]));
    };
    const clicksOf = async (arm: string, app = t.app) => (await arms(app)).get(arm)!.clicks;
    const ts = () => new Date().toISOString();

    it('When lists of every kind are served, Then each recommendationId is a token that verifies, at most 256 characters, never the same twice (a reused answer too)', async () => {
      const read = auth('read');
      const answers = [
        ...(await Promise.all(
          ['/v1/users/g-user1/recommendations?k=3', '/v1/users/g-user1/recommendations?k=3', '/v1/users/g-user1/recommendations?k=3&strategy=als', '/v1/items/g1/similar?k=3', '/v1/items/g1/bought-together?k=3', '/v1/popular?k=3', '/v1/users/nobody/recommendations?k=3'].map(
            (url) => t.app.inject({ url, headers: read }),
          ),
        )),
        await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: read, payload: { items: ['g1'], k: 3 } }),
      ].map((res) => res.json() as { recommendationId: string; strategy: string; modelVersion: string | null; experiment?: { id: string; arm: string } });
      for (const a of answers) {
        expect(a.recommendationId.length).toBeLessThanOrEqual(256);
        expect(t.services.recommendationIds.verify(a.recommendationId)).toMatchObject({ strategy: a.strategy, modelVersion: a.modelVersion, ...(a.experiment ? { experiment: a.experiment } : {}) });
      }
      expect(new Set(answers.map((a) => a.recommendationId)).size).toBe(answers.length);
    });

    it("When a browser clicks with a real arm's name on a made-up, UUID or missing recommendationId, Then the click counts for no arm and the answer says the labels were dropped", async () => {
      const before = await arms();
      const forged = (recommendationId?: string) => ({ userId: 'forger', itemId: 'g1', type: 'click', strategy: 'popularity', experimentId: EXPERIMENT.id, arm: 'treatment', ts: ts(), ...(recommendationId ? { recommendationId } : {}) });
      const res = await send(FRONTEND, [forged(randomUUID()), forged('made-up-list'), forged(), forged(randomUUID())]);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ accepted: 4, unknownItems: 0, unknownLabels: 4 });
      expect(await arms()).toEqual(before);
    });

    it("When a browser clicks on a list served in one arm but claims the other arm and strategy, Then the click counts under the token's arm and strategy", async () => {
      const { userId, list } = served.get('control')!;
      const before = await arms();
      const res = await send(FRONTEND, [
        { userId, itemId: list.items[0].itemId, type: 'click', recommendationId: list.recommendationId, strategy: 'popularity', experimentId: EXPERIMENT.id, arm: 'treatment', ts: ts() },
        // The same list, labelled as served (or not at all): nothing to drop.
        { userId, itemId: list.items[1].itemId, type: 'click', recommendationId: list.recommendationId, strategy: list.strategy, experimentId: EXPERIMENT.id, arm: 'control', ts: ts() },
        { userId, itemId: list.items[2].itemId, type: 'click', recommendationId: list.recommendationId, ts: ts() },
      ]);
      expect(res.json()).toEqual({ accepted: 3, unknownItems: 0, unknownLabels: 1 });
      const after = await arms();
      expect(after.get('control')!.clicks).toBe(before.get('control')!.clicks + 3);
      expect(after.get('treatment')!.clicks).toBe(before.get('treatment')!.clicks);
    });

    it("When a served list's token is replayed as many clicks on one item, Then its arm counts one click, and the same for another item of it", async () => {
      const { userId, list } = served.get('treatment')!;
      const before = await clicksOf('treatment');
      const click = (itemId: string) => ({ eventId: randomUUID(), userId, itemId, type: 'click', recommendationId: list.recommendationId, ts: ts() });
      const res = await send(FRONTEND, [...Array.from({ length: 20 }, () => click(list.items[1].itemId)), click(list.items[2].itemId)]);
      expect(res.json()).toEqual({ accepted: 21, unknownItems: 0, unknownLabels: 0 });
      // In a later batch too.
      await send(FRONTEND, Array.from({ length: 5 }, () => click(list.items[1].itemId)));
      expect(await clicksOf('treatment')).toBe(before + 2);
    });

    it("When another customer's feedback names a customer's list, Then its click counts for no arm (one shopper's list is not many shoppers' clicks)", async () => {
      const { list } = served.get('treatment')!;
      const before = await arms();
      const res = await send(FRONTEND, [
        { userId: 'someone-else', itemId: list.items[0].itemId, type: 'add_to_cart', recommendationId: list.recommendationId, experimentId: EXPERIMENT.id, arm: 'treatment', ts: ts() },
        { userId: 'someone-else-2', itemId: list.items[0].itemId, type: 'impression', recommendationId: list.recommendationId, ts: ts() },
      ]);
      expect(res.json()).toEqual({ accepted: 2, unknownItems: 0, unknownLabels: 1 });
      expect(await arms()).toEqual(before);
    });

    it("When a backend replays a browser's event on a signed list under its eventId, Then it counts once", async () => {
      const { userId, list } = served.get('control')!;
      const before = (await arms()).get('control')!.impressions;
      const shown = { eventId: randomUUID(), userId, itemId: list.items[2].itemId, type: 'impression', recommendationId: list.recommendationId, ts: ts() };
      expect((await send(FRONTEND, [shown])).statusCode).toBe(200);
      expect((await send(KEYS.write, [shown])).json()).toMatchObject({ inserted: 0, duplicates: 1 });
      expect((await arms()).get('control')!.impressions).toBe(before + 1);
    });

    it("When another customer's event on a customer's list comes first, Then the customer's own event still counts in the arm", async () => {
      const { userId, list } = served.get('treatment')!;
      const before = (await arms()).get('treatment')!.addToCart;
      const cart = (who: string) => ({ userId: who, itemId: list.items[2].itemId, type: 'add_to_cart', recommendationId: list.recommendationId, ts: ts() });
      await send(FRONTEND, [cart('someone-first')]);
      await send(FRONTEND, [cart(userId)]);
      expect((await arms()).get('treatment')!.addToCart).toBe(before + 1);
    });

    it('When one character of a served token is changed, Then it does not verify: the click counts for no arm', async () => {
      const { userId, list } = served.get('treatment')!;
      const before = await clicksOf('treatment');
      const token = list.recommendationId;
      const changed = [0, 5, Math.floor(token.length / 2), token.length - 1].map((at) => tamper(token, at));
      for (const c of changed) expect(t.services.recommendationIds.verify(c)).toBeNull();
      const res = await send(FRONTEND, changed.map((recommendationId, n) => ({ userId, itemId: list.items[0].itemId, type: 'click', recommendationId, experimentId: EXPERIMENT.id, arm: 'treatment', ts: new Date(Date.now() - n * 1000).toISOString() })));
      expect(res.json()).toEqual({ accepted: changed.length, unknownItems: 0, unknownLabels: changed.length });
      expect(await clicksOf('treatment')).toBe(before);
    });

    it("When a page left open sends a click on a list made for a customer before their erasure, Then it stays erased; a list made after it is the new customer's", async () => {
      const userId = 'erased-shopper';
      const feedbackRows = async () => (await testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM feedback_events WHERE user_id = $1', [userId])).rows[0].n;
      const userRows = async () => (await testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = $1', [userId])).rows[0].n;
      const before = (await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3`, headers: auth('read') })).json();
      const on = (list: { recommendationId: string; items: { itemId: string }[] }, type: string) => ({ eventId: randomUUID(), userId, itemId: list.items[0].itemId, type, recommendationId: list.recommendationId });
      expect((await send(FRONTEND, [{ ...on(before, 'impression'), ts: ts() }])).statusCode).toBe(200);
      expect(await feedbackRows()).toBe(1);
      expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${userId}`, headers: auth('admin') })).statusCode).toBe(204);
      // Sent after the erasure under a new eventId and dated on arrival: only its list says whose it is; the
      // same for a page left open longer than a list's labels are kept (8 days).
      const weekOld = { ...before, recommendationId: t.services.recommendationIds.issue(before, { userId, now: Date.now() - 8 * 86_400_000 }) };
      const late = await send(FRONTEND, [on(before, 'click'), on(weekOld, 'add_to_cart')]);
      expect(late.statusCode, late.body).toBe(200);
      expect(await feedbackRows()).toBe(0);
      expect(await userRows()).toBe(0);
      // A token carries its time in whole seconds: a list made in the erasure's second counts as made before it.
      await new Promise((r) => setTimeout(r, 1100));
      const after = (await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3`, headers: auth('read') })).json();
      expect((await send(FRONTEND, [on(after, 'click')])).statusCode).toBe(200);
      expect(await feedbackRows()).toBe(1);
    });

    it('When a second replica on the same database receives a click on a list the first served, Then it verifies the token and counts the click under its arm and strategy', async () => {
      // Its own process state and an empty model store: it served nothing, knows only the fallbacks' strategies.
      const replica = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }), env: ENV });
      try {
        const { userId, list } = served.get('control')!;
        expect(replica.services.serving.servedStrategies().has(list.strategy)).toBe(false);
        const before = await clicksOf('control', replica.app);
        const res = await send(FRONTEND, [{ userId, itemId: list.items[0].itemId, type: 'add_to_cart', recommendationId: list.recommendationId, strategy: list.strategy, experimentId: EXPERIMENT.id, arm: 'control', ts: ts() }], replica.app);
        expect(res.json()).toEqual({ accepted: 1, unknownItems: 0, unknownLabels: 0 });
        const r = (await replica.app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).json() as { strategies: { strategy: string | null; addToCart: number }[] };
        expect(r.strategies.find((s) => s.strategy === list.strategy)?.addToCart).toBeGreaterThanOrEqual(1);
        expect(await clicksOf('control', replica.app)).toBe(before);
        expect((await arms(replica.app)).get('control')).toMatchObject({ addToCart: 1 });
        // And the other way: the replica's answer (popularity from the database) verifies on the first.
        const own = (await replica.app.inject({ url: '/v1/popular?k=2', headers: auth('read') })).json();
        expect(t.services.recommendationIds.verify(own.recommendationId)).toMatchObject({ strategy: own.strategy });
      } finally {
        await replica.dispose();
      }
    });

    it("When a server's write key sends a real arm with a UUID recommendationId, Then its labels are stored as sent", async () => {
      const before = await clicksOf('treatment');
      const res = await send(KEYS.write, [{ userId: 'backend-replay', itemId: 'g2', type: 'click', recommendationId: randomUUID(), strategy: 'popularity', experimentId: EXPERIMENT.id, arm: 'treatment', ts: ts() }]);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ inserted: 1 });
      expect(await clicksOf('treatment')).toBe(before + 1);
    });

    it('When a campaign is exported, Then every row of a list carries that list\'s signed recommendationId', async () => {
      const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv', campaignId: 'signed-mail' } });
      expect(start.statusCode, start.body).toBe(202);
      const job = await finishedJob(t, `/v1/exports/${start.json().jobId}`, 120_000);
      expect(job.status).toBe('succeeded');
      const rows = parse((await t.app.inject({ url: `/v1/exports/${job.id}/file`, headers: auth('admin') })).body, { columns: true }) as Record<string, string>[];
      expect(rows.length).toBeGreaterThan(0);
      const byUser = new Map(rows.map((r) => [r.userId, r.recommendationId]));
      for (const r of rows) {
        expect(r.recommendationId).toBe(byUser.get(r.userId));
        expect(t.services.recommendationIds.verify(r.recommendationId)).toMatchObject({ strategy: r.strategy, modelVersion: r.modelVersion });
      }
      expect(new Set(byUser.values()).size).toBe(byUser.size);
    }, 150_000);
  });
}
