import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

/**
 * GET /v1/segments/:name/users paged with `cursor`. The members are the active model's, by descending
 * spend; an erasure takes a customer out of them without a new version. With `offset`, erasing a customer
 * of a page already read shifts the rest up: the next page skips one customer.
 */
const usePostgres = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 1, 12);
const id = (i: number) => `s${String(i).padStart(2, '0')}`;

// Twenty customers, s01..s20, each one order spending 10 x i. Value tier by mid-rank percentile
// p = (rank + 0.5) / 20 (segments.ts): low below 0.5, so s01..s10 (spend 10..100), listed s10 first.
const LOW_TIER = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(id);

describe('segment members paged by cursor', () => {
  let t: TestApp;
  const get = (url: string) => t.app.inject({ url, headers: auth('admin') });
  const userIds = (res: { json(): { users: { userId: string }[] } }) => res.json().users.map((u) => u.userId);
  const list = '/v1/segments/low/users?dimension=valueTier&limit=4';

  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    const events = Array.from({ length: 20 }, (_, k) => ({
      userId: id(k + 1),
      itemId: `item-${k % 3}`,
      quantity: 1,
      price: 10 * (k + 1),
      orderId: `o${k + 1}`,
      ts: new Date(base + k * DAY).toISOString(),
    }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } })).json().inserted).toBe(20);
    await t.services.trainer.train({ tune: false });
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When offset is given, Then it pages as before, and its answer carries the cursor of the page after', async () => {
    const page = await get(`${list}&offset=4`);
    expect(page.json()).toMatchObject({ dimension: 'valueTier', name: 'low', total: 10 });
    expect(userIds(page)).toEqual(['s06', 's05', 's04', 's03']);
    const after = await get(`${list}&cursor=${encodeURIComponent(page.json().nextCursor)}`);
    expect(userIds(after)).toEqual(['s02', 's01']);
    expect(after.json().nextCursor).toBeNull();
    expect((await get(`${list}&offset=8`)).json().nextCursor).toBeNull();
  });

  it('When the cursor is malformed, of another group or sent with offset, Then the answer is 400 VALIDATION_FAILED naming it', async () => {
    const cursor: string = (await get(list)).json().nextCursor;
    const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const bad of ['not a cursor', cursor.slice(0, -3), made({ v: 'x', k: 'much', id: 's01' }), made({ v: 'x', k: 1, id: '' })]) {
      const res = await get(`${list}&cursor=${encodeURIComponent(bad)}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.cursor' }] });
    }
    const both = await get(`${list}&offset=0&cursor=${encodeURIComponent(cursor)}`);
    expect(both.statusCode).toBe(400);
    expect(both.json().error.details[0].path).toBe('querystring.offset');
    // A cursor of another group pages nothing of this one.
    const otherGroup = await get(`/v1/segments/medium/users?dimension=valueTier&limit=4&cursor=${encodeURIComponent(cursor)}`);
    expect(otherGroup.statusCode).toBe(400);
    expect(otherGroup.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.cursor' }] });
  });

  it('When a customer of a page already read is erased before the next, Then paging with the cursor lists every other member exactly once', async () => {
    const first = await get(list);
    expect(first.statusCode).toBe(200);
    expect(userIds(first)).toEqual(LOW_TIER.slice(0, 4));
    expect(typeof first.json().nextCursor).toBe('string');
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${LOW_TIER[2]}`, headers: auth('admin') })).statusCode).toBe(204);
    // What offset does: the members after the erased one move up a place, and `offset=4` skips s06.
    expect(userIds(await get(`${list}&offset=4`))).toEqual(['s05', 's04', 's03', 's02']);

    const listed = userIds(first);
    for (let next: string | null = first.json().nextCursor; next !== null; ) {
      const res = await get(`${list}&cursor=${encodeURIComponent(next)}`);
      expect(res.statusCode).toBe(200);
      listed.push(...userIds(res));
      next = res.json().nextCursor;
    }
    expect(listed).toEqual(LOW_TIER);
  });

  it('When another model version is activated between two pages, Then the cursor of the first is refused with 409, not paged across versions', async () => {
    const first = (await get(list)).json();
    await t.services.trainer.train({ tune: false });
    const res = await get(`${list}&cursor=${encodeURIComponent(first.nextCursor)}`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('CONFLICT');
    expect(res.json().error.message).toContain(first.modelVersion);
  });
});
