/**
 * The frontend key sits in every storefront page: anyone may send it. A request counts once in the per-IP
 * rate limit whatever its batch holds, so a browser's batch is held to FRONTEND_MAX_BATCH_SIZE events, not
 * MAX_BATCH_SIZE; a backend's key (read, write) keeps MAX_BATCH_SIZE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS, ONE_DB_BACKEND } from '../../helpers/services.js';

const FRONTEND = 'frontend-key-batch-1';
const ITEMS = ['fb-1', 'fb-2', 'fb-3', 'fb-4', 'fb-5'];

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`frontend feedback batch limit on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        createDb: backend.create,
        env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`, FRONTEND_MAX_BATCH_SIZE: '3', MAX_BATCH_SIZE: '5' },
      });
      await t.services.catalog.upsertItems(ITEMS.map((id) => ({ id, title: id })));
    });
    afterAll(() => t?.dispose());

    /** `n` clicks of distinct items by a new visitor of `tag` (a frontend key stores feedback about known items only). */
    const events = (n: number, tag: string) => ITEMS.slice(0, n).map((itemId) => ({ userId: `visitor-${tag}`, itemId, type: 'click', ts: new Date().toISOString() }));
    const send = (headers: Record<string, string>, payload: object) => t.app.inject({ method: 'POST', url: '/v1/feedback', headers, payload });
    const stored = async () => {
      const { rows } = await t.services.db.query<{ feedback: number; users: number }>('SELECT (SELECT count(*)::int FROM feedback_events) AS feedback, (SELECT count(*)::int FROM users) AS users');
      return rows[0];
    };

    it('When a browser sends more events than FRONTEND_MAX_BATCH_SIZE, Then 413 BATCH_TOO_LARGE naming the limit, and nothing of the batch is stored', async () => {
      const before = await stored();
      const res = await send({ authorization: `Bearer ${FRONTEND}` }, { events: events(4, 'over') });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toEqual({ error: { code: 'BATCH_TOO_LARGE', message: expect.stringMatching(/frontend key holds at most 3 events, got 4/) } });
      expect(await stored()).toEqual(before);
    });

    it("When a batch over its key's limit holds invalid events, Then the answer is the 413 its size decides, before its events are validated one by one", async () => {
      const junk = Array.from({ length: 50 }, () => ({ userId: '', itemId: 7, type: 'shout' }));
      const browser = await send({ authorization: `Bearer ${FRONTEND}` }, { events: junk });
      expect(browser.statusCode).toBe(413);
      expect(browser.json().error.message).toMatch(/at most 3 events, got 50/);
      const backend = await send(auth('write'), { events: junk });
      expect(backend.statusCode).toBe(413);
      expect(backend.json().error.message).toMatch(/at most 5 events, got 50/);
      const purchases = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: junk } });
      expect(purchases.statusCode).toBe(413);
      // Within the limit, invalid events are still a 400 naming them.
      expect((await send({ authorization: `Bearer ${FRONTEND}` }, { events: junk.slice(0, 2) })).statusCode).toBe(400);
    });

    it('When a browser sends FRONTEND_MAX_BATCH_SIZE events, Then they are stored', async () => {
      const before = await stored();
      const res = await send({ authorization: `Bearer ${FRONTEND}` }, { events: events(3, 'at') });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ accepted: 3, unknownItems: 0 });
      expect(await stored()).toEqual({ feedback: before.feedback + 3, users: before.users + 1 });
    });

    it('When a backend key sends more than FRONTEND_MAX_BATCH_SIZE, Then MAX_BATCH_SIZE is its limit', async () => {
      for (const scope of ['read', 'write'] as const) {
        const res = await send(auth(scope), { events: events(5, scope) });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ accepted: 5 });
        const over = await send(auth(scope), { events: [...events(5, `${scope}-over`), ...events(1, `${scope}-over`)] });
        expect(over.statusCode).toBe(413);
        expect(over.json().error).toMatchObject({ code: 'BATCH_TOO_LARGE', message: expect.stringMatching(/^A batch holds at most 5 events, got 6/) });
      }
    });
  });
}

describe('a frontend batch limit above MAX_BATCH_SIZE', async () => {
  const backend = DB_BACKENDS[1];
  it('When FRONTEND_MAX_BATCH_SIZE is set above MAX_BATCH_SIZE, Then a browser is still held to MAX_BATCH_SIZE', async () => {
    const t = await createTestApp({ createDb: backend.create, env: { API_KEYS: `frontend:${FRONTEND},admin:${KEYS.admin}`, FRONTEND_MAX_BATCH_SIZE: '50', MAX_BATCH_SIZE: '2' } });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/feedback',
        headers: { authorization: `Bearer ${FRONTEND}` },
        payload: { events: ITEMS.slice(0, 3).map((itemId) => ({ userId: 'v', itemId, type: 'click', ts: new Date().toISOString() })) },
      });
      expect(res.statusCode).toBe(413);
      expect(res.json().error.message).toMatch(/at most 2 events, got 3/);
    } finally {
      await t.dispose();
    }
  });
});
