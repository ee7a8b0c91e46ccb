/**
 * GET /v1/metrics/online reports CTR and conversion per model version: the version is read from the signed
 * recommendationId each feedback event names (not from anything the client sends), so operations can compare
 * a new version with the one before it and decide a rollback on numbers. Counts here are hand counts of the
 * events sent, through both the open days (read from the events) and closed days (read from the daily counts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND, type TestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

const FRONTEND = 'frontend-key-model-versions-1';
const ENV = { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` };

type VersionRates = { modelVersion: string | null; impressions: number; clicks: number; addToCart: number; purchases: number; ctr: number | null; conversion: number | null };
type List = { recommendationId: string; modelVersion: string | null; items: { itemId: string }[] };

/** One character of `token` changed (to another of the base64url alphabet). */
const tamper = (token: string, at: number) => token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`online metrics per model version on ${backend.name}`, () => {
    let t: TestApp;
    let testDb: TestDb;
    let first: { version: string; list: List };
    let second: { version: string; list: List };

    const ask = async (userId: string): Promise<List> => {
      const res = await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3`, headers: auth('read') });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const send = async (key: string, events: object[]) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${key}` }, payload: { events } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const versions = async (days = 30): Promise<Map<string | null, VersionRates>> => {
      const res = await t.app.inject({ url: `/v1/metrics/online?days=${days}`, headers: auth('admin') });
      expect(res.statusCode, res.body).toBe(200);
      const rows = (res.json() as { modelVersions: VersionRates[] }).modelVersions;
      // Each version once.
      expect(new Set(rows.map((r) => r.modelVersion)).size).toBe(rows.length);
      return new Map(rows.map((r) => [r.modelVersion, r]));
    };
    const event = (list: List, userId: string, type: string, at = new Date()) => ({
      userId,
      itemId: list.items[0].itemId,
      type,
      recommendationId: list.recommendationId,
      ts: at.toISOString(),
      eventId: randomUUID(),
    });

    beforeAll(async () => {
      testDb = await backend.create();
      t = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }), env: ENV });
      await seedShop(t.services);
      const v1 = await trainAndPublish(t.services, 'mv-first');
      first = { version: v1, list: await ask('g-user1') };
      const v2 = await trainAndPublish(t.services, 'mv-second');
      second = { version: v2, list: await ask('g-user2') };
    }, 60_000);
    afterAll(async () => {
      await t?.dispose();
      await testDb?.dispose();
    });

    it('When lists of two versions get feedback, Then each version has its own counts and rates, and feedback naming no signed id has none', async () => {
      // The lists really are of two versions (the report's rows must not merely echo one).
      expect(first.list.modelVersion).toBe('mv-first');
      expect(second.list.modelVersion).toBe('mv-second');
      // The first version's list: 2 impressions (two customers), 1 click, 1 purchase; a browser's key.
      const a = first.list;
      await send(FRONTEND, [event(a, 'g-user1', 'impression'), event(a, 'g-user1', 'click'), event(a, 'g-user1', 'purchase')]);
      await send(KEYS.write, [event(a, 'g-user3', 'impression')]);
      // The second: 3 impressions, 2 clicks, from a server's key.
      const b = second.list;
      await send(KEYS.write, [event(b, 'g-user2', 'impression'), event(b, 'g-user4', 'impression'), event(b, 'g-user5', 'impression')]);
      await send(KEYS.write, [event(b, 'g-user2', 'click'), event(b, 'g-user4', 'click')]);
      // No signed id: an older UUID, and a token changed by one character.
      await send(KEYS.write, [
        { ...event(b, 'g-user6', 'impression'), recommendationId: randomUUID() },
        { ...event(b, 'g-user6', 'click'), recommendationId: tamper(b.recommendationId, 20) },
      ]);

      const report = await versions();
      expect(report.get('mv-first')).toEqual({ modelVersion: 'mv-first', impressions: 2, clicks: 1, addToCart: 0, purchases: 1, ctr: 0.5, conversion: 0.5 });
      expect(report.get('mv-second')).toEqual({ modelVersion: 'mv-second', impressions: 3, clicks: 2, addToCart: 0, purchases: 0, ctr: 2 / 3, conversion: 0 });
      expect(report.get(null)).toEqual({ modelVersion: null, impressions: 1, clicks: 1, addToCart: 0, purchases: 0, ctr: 1, conversion: 0 });
      expect(report.size).toBe(3);
    });

    it('When feedback of a closed day is counted into the daily counts, Then its version is kept there', async () => {
      // Three days back: a closed day, read from feedback_daily_counts once counted (a server's key may date it).
      const back = new Date(Date.now() - 3 * 86_400_000);
      await send(KEYS.write, [event(first.list, 'g-user7', 'impression', back), event(first.list, 'g-user7', 'add_to_cart', back)]);
      const before = (await versions()).get('mv-first')!;
      // Asked twice: the first ask counted the day, the second reads the count.
      const counted = (await versions()).get('mv-first')!;
      expect(before).toEqual(counted);
      expect(counted).toMatchObject({ impressions: 3, clicks: 1, addToCart: 1, purchases: 1 });
      const rows = await testDb.db.query<{ model_version: string | null; impressions: string }>(
        "SELECT model_version, impressions::text FROM feedback_daily_counts WHERE day = ($1::timestamptz AT TIME ZONE 'UTC')::date",
        [back.toISOString()],
      );
      expect(rows.rows).toEqual([{ model_version: 'mv-first', impressions: '1' }]);
      // A window that leaves the day out leaves its feedback out.
      expect((await versions(1)).get('mv-first')).toMatchObject({ impressions: 2, addToCart: 0 });
    });
  });
}
