import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

/**
 * GET /v1/users paged with `cursor`: a data team exporting every customer by spend while purchases arrive.
 * With `offset`, a customer of a later page whose purchase lifts them onto an earlier one shifts the rest
 * down: the next page repeats one customer and the lifted one is never listed. Every expected list below is
 * written out by hand from the purchases sent.
 */
const day = (d: number) => `2024-01-0${d}T12:00:00.000Z`;
// id, spend (one purchase of one unit at that price), day of the purchase; d and e tie on both.
const CUSTOMERS: [string, number, number][] = [
  ['a', 70, 7],
  ['b', 60, 6],
  ['c', 50, 5],
  ['d', 40, 4],
  ['e', 40, 4],
  ['f', 20, 2],
  ['g', 10, 1],
];
// By spend, by recency and by id alike: a..g, then h and i, who have bought nothing (last in all three orders, by id).
const EVERYONE = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`customer list paged by cursor on ${backend.name}`, () => {
    let t: TestApp;
    const get = (url: string) => t.app.inject({ url, headers: auth('admin') });
    const buy = async (userId: string, price: number, ts: string) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ userId, itemId: 'mug', quantity: 1, price, ts }] } });
      expect(res.json().inserted).toBe(1);
    };
    const putUser = async (id: string) => expect((await t.app.inject({ method: 'PUT', url: `/v1/users/${id}`, headers: auth('write'), payload: { attributes: {} } })).statusCode).toBe(200);
    const ids = (customers: { id: string }[], prefix: string) => customers.map((c) => c.id.slice(prefix.length));

    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      // Each test lists its own customers (`q` is the prefix), so what one buys moves nobody in another.
      for (const prefix of ['spend-', 'recent-', 'id-', 'offset-']) {
        for (const [id, spend, d] of CUSTOMERS) await buy(prefix + id, spend, day(d));
        await putUser(`${prefix}h`);
        await putUser(`${prefix}i`);
      }
    });
    afterAll(() => t?.dispose());

    for (const sort of ['spend', 'recent'] as const) {
      it(`When a customer of a later page buys between two pages by ${sort}, Then paging with the cursor lists every customer exactly once`, async () => {
        // Two a page: the fourth page ends with h, whose key is none (no purchase), and the fifth holds i.
        const list = `/v1/users?q=${sort}-&sort=${sort}&limit=2`;
        const first = await get(list);
        expect(first.statusCode).toBe(200);
        expect(ids(first.json().customers, `${sort}-`)).toEqual(['a', 'b']);
        expect(typeof first.json().nextCursor).toBe('string');
        // The embedded database's clock counts milliseconds: the purchase comes in a later one than the page.
        await new Promise((r) => setTimeout(r, 5));
        // f (20, day 2) buys for 100 on day 8: now first by spend (120) and by recency, above the page read.
        await buy(`${sort}-f`, 100, '2024-01-08T10:00:00.000Z');
        // What offset does: the live order now starts with f, so `offset=2` repeats b and f is never listed.
        expect(ids((await get(`${list}&offset=2`)).json().customers, `${sort}-`)).toEqual(['b', 'c']);

        const listed = [...first.json().customers];
        for (let next: string | null = first.json().nextCursor; next !== null; ) {
          const res = await get(`${list}&cursor=${encodeURIComponent(next)}`);
          expect(res.statusCode).toBe(200);
          listed.push(...res.json().customers);
          next = res.json().nextCursor;
        }
        expect(ids(listed, `${sort}-`)).toEqual(EVERYONE);
        // The pages after the first show the list as it was when the first was read: f before the purchase.
        expect(listed.find((c) => c.id === `${sort}-f`)).toEqual({ id: `${sort}-f`, purchases: 1, orders: 1, spend: 20, lastPurchase: day(2) });
      });
    }

    it('When the list by id is paged with the cursor and a customer is added before it, Then the next page starts after the last one listed', async () => {
      const first = (await get('/v1/users?q=id-&limit=4')).json();
      expect(ids(first.customers, 'id-')).toEqual(['a', 'b', 'c', 'd']);
      await putUser('id-aa');
      const second = (await get(`/v1/users?q=id-&limit=4&cursor=${encodeURIComponent(first.nextCursor)}`)).json();
      expect(ids(second.customers, 'id-')).toEqual(['e', 'f', 'g', 'h']);
      expect(second).toMatchObject({ limit: 4, offset: 0 });
      const third = (await get(`/v1/users?q=id-&limit=4&cursor=${encodeURIComponent(second.nextCursor)}`)).json();
      expect(ids(third.customers, 'id-')).toEqual(['i']);
      expect(third.nextCursor).toBeNull();
    });

    it('When offset is given without a cursor, Then it pages as before and the answer carries the cursor of the next page', async () => {
      const page = (await get('/v1/users?q=offset-&sort=spend&limit=2&offset=2')).json();
      expect(ids(page.customers, 'offset-')).toEqual(['c', 'd']);
      expect(page).toMatchObject({ limit: 2, offset: 2 });
      expect(ids((await get('/v1/users?q=offset-&sort=spend&limit=2&offset=4')).json().customers, 'offset-')).toEqual(['e', 'f']);
      const rest = (await get(`/v1/users?q=offset-&sort=spend&limit=2&cursor=${encodeURIComponent(page.nextCursor)}`)).json();
      expect(ids(rest.customers, 'offset-')).toEqual(['e', 'f']);
      expect((await get('/v1/users?q=offset-&sort=spend&limit=100')).json().nextCursor).toBeNull();
      expect((await get('/v1/users?q=offset-&sort=spend&limit=2&offset=7')).json().nextCursor).toBeNull();
    });

    it('When the cursor is malformed, altered, of another order or search, or sent with offset, Then the answer is 400 VALIDATION_FAILED naming it', async () => {
      const list = '/v1/users?q=id-&sort=spend&limit=2';
      const cursor: string = (await get(list)).json().nextCursor;
      const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const refused = [
        'not a cursor',
        'bm90IGpzb24', // base64url of "not json"
        cursor.slice(0, -3), // cut short: the JSON inside is cut too
        made({ s: 'spend', k: 'much', id: 'id-b', at: 1 }),
        made({ s: 'spend', k: 60, id: 'id-b\u0000', at: 1 }), // a NUL, which Postgres text cannot hold
        made({ s: 'recent', k: 1e300, id: 'id-b', at: 1 }), // a time past any timestamp
        made({ s: 'spend', k: 60, id: 'id-b', at: 1, extra: true }),
        made(['spend', 60, 'id-b']),
        'x'.repeat(5000),
      ];
      for (const bad of refused) {
        const res = await get(`${list}&cursor=${encodeURIComponent(bad)}`);
        expect(res.statusCode, bad.slice(0, 40)).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
        expect(res.json().error.details[0].path).toBe('querystring.cursor');
      }
      const otherSort = await get(`/v1/users?q=id-&sort=recent&limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(otherSort.statusCode).toBe(400);
      expect(otherSort.json().error.message).toMatch(/by spend, asked with sort=recent/);
      // Nor is a cursor of another search: its key would page this list from a customer of that one.
      const otherSearch = await get(`/v1/users?q=offset-&sort=spend&limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(otherSearch.statusCode).toBe(400);
      expect(otherSearch.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.cursor' }] });
      expect(otherSearch.json().error.message).toMatch(/another search/);
      for (const offset of ['0', '2']) {
        const both = await get(`${list}&offset=${offset}&cursor=${encodeURIComponent(cursor)}`);
        expect(both.statusCode).toBe(400);
        expect(both.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.offset' }] });
      }
      // The cursor itself still pages.
      expect((await get(`${list}&cursor=${encodeURIComponent(cursor)}`)).statusCode).toBe(200);
    });
  });
}
