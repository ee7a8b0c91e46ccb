import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

/**
 * GET /v1/users/:id/events (a customer's purchases, newest first) paged with `cursor`. With `offset`, a
 * purchase arriving between two pages is the newest, lands on the first page and pushes every other down
 * a place: the next page starts with the last purchase already read.
 */
const at = (day: number) => `2024-05-0${day}T09:00:00.000Z`;
// e1..e6 on days 1..6, and e4b on day 4 beside e4 (the same time: event ids break the tie, e4 first).
const HISTORY = [
  ['e1', 1],
  ['e2', 2],
  ['e3', 3],
  ['e4', 4],
  ['e4b', 4],
  ['e5', 5],
  ['e6', 6],
] as const;
const NEWEST_FIRST = ['e6', 'e5', 'e4', 'e4b', 'e3', 'e2', 'e1'];

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`a customer's purchases paged by cursor on ${backend.name}`, () => {
    let t: TestApp;
    const get = (url: string) => t.app.inject({ url, headers: auth('read') });
    const ids = (res: { json(): { events: { eventId: string }[] } }) => res.json().events.map((e) => e.eventId.slice(e.eventId.indexOf('-') + 1));
    const buy = async (userId: string, eventId: string, ts: string) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ eventId, userId, itemId: 'mug', quantity: 1, price: 5, ts }] } });
      expect(res.json().inserted).toBe(1);
    };

    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      // ann's purchases change in the first test; bob's stay as they are.
      for (const user of ['ann', 'bob']) for (const [eventId, day] of HISTORY) await buy(user, `${user}-${eventId}`, at(day));
    });
    afterAll(() => t?.dispose());

    it('When a purchase arrives between two pages, Then paging with the cursor lists every purchase there was exactly once', async () => {
      const first = await get('/v1/users/ann/events?limit=3');
      expect(first.statusCode).toBe(200);
      expect(ids(first)).toEqual(['e6', 'e5', 'e4']);
      expect(typeof first.json().nextCursor).toBe('string');
      await buy('ann', 'ann-e7', at(7));
      // What offset does: e7 is now first, and `offset=3` starts again at e4.
      expect(ids(await get('/v1/users/ann/events?limit=3&offset=3'))).toEqual(['e4', 'e4b', 'e3']);

      const listed = ids(first);
      for (let next: string | null = first.json().nextCursor; next !== null; ) {
        const res = await get(`/v1/users/ann/events?limit=3&cursor=${encodeURIComponent(next)}`);
        expect(res.statusCode).toBe(200);
        listed.push(...ids(res));
        next = res.json().nextCursor;
      }
      expect(listed).toEqual(NEWEST_FIRST);
    });

    it('When offset is given, Then it pages as before, and its answer carries the cursor of the page after', async () => {
      const page = await get('/v1/users/bob/events?limit=2&offset=2');
      expect(ids(page)).toEqual(['e4', 'e4b']);
      const after = await get(`/v1/users/bob/events?limit=2&cursor=${encodeURIComponent(page.json().nextCursor)}`);
      expect(ids(after)).toEqual(['e3', 'e2']);
      expect((await get('/v1/users/bob/events?limit=7')).json().nextCursor).toBeNull();
      expect((await get('/v1/users/bob/events?limit=2&offset=5')).json().nextCursor).toBeNull();
    });

    it('When the cursor is malformed, another customer\'s or sent with offset, Then the answer is 400 VALIDATION_FAILED naming it; an unknown customer is still 404', async () => {
      const cursor: string = (await get('/v1/users/bob/events?limit=2')).json().nextCursor;
      const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const bad of ['not a cursor', cursor.slice(0, -3), made({ k: '2024-05-01', id: 'bob-e1' }), made({ k: 1e300, id: 'bob-e1' }), made({ k: 1, id: 'e\u0000' })]) {
        const res = await get(`/v1/users/bob/events?limit=2&cursor=${encodeURIComponent(bad)}`);
        expect(res.statusCode, bad).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.cursor' }] });
      }
      const both = await get(`/v1/users/bob/events?limit=2&offset=0&cursor=${encodeURIComponent(cursor)}`);
      expect(both.statusCode).toBe(400);
      expect(both.json().error.details[0].path).toBe('querystring.offset');
      expect((await get(`/v1/users/nobody/events?cursor=${encodeURIComponent(cursor)}`)).statusCode).toBe(404);
      // bob's cursor pages nothing of ann's purchases.
      const other = await get(`/v1/users/ann/events?limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(other.statusCode).toBe(400);
      expect(other.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.cursor' }] });
    });
  });
}
