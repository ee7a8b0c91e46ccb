import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_BACKENDS } from '../../helpers/services.js';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';

const event = (over: Record<string, unknown> = {}) => ({
  userId: 'c1',
  itemId: '85123A',
  quantity: 6,
  price: 2.55,
  orderId: '536365',
  ts: '2010-12-01T08:26:00Z',
  ...over,
});

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`ingestion API on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create, env: { MAX_BATCH_SIZE: '3', BODY_LIMIT_BYTES: '4096' } });
    });
    afterAll(() => t.dispose());

    const post = (url: string, payload: unknown, headers: Record<string, string> = auth('write')) =>
      t.app.inject({ method: 'POST', url, payload: payload as object, headers });
    const stored = () => t.services.events.counts().then((c) => c.purchases);

    it('When an item is put, Then it reads back with defaults filled', async () => {
      const put = await t.app.inject({
        method: 'PUT',
        url: '/v1/items/85123A',
        headers: auth('write'),
        payload: { title: 'WHITE HANGING HEART T-LIGHT HOLDER', categories: ['decor'], price: 2.55 },
      });
      expect(put.statusCode).toBe(200);
      const got = await t.app.inject({ url: '/v1/items/85123A', headers: auth('read') });
      expect(got.json()).toMatchObject({ id: '85123A', title: 'WHITE HANGING HEART T-LIGHT HOLDER', categories: ['decor'], price: 2.55, available: true, attributes: {} });
    });

    it('When a batch of events is posted twice, Then the second adds nothing', async () => {
      const batch = { events: [event(), event({ itemId: '71053', eventId: 'e-2' })] };
      const first = await post('/v1/events', batch);
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ accepted: 2, inserted: 2, duplicates: 0, erased: 0 });
      const again = await post('/v1/events', batch);
      expect(again.json()).toEqual({ accepted: 2, inserted: 0, duplicates: 2, erased: 0 });
      expect(await stored()).toBe(2);
      const events = await t.app.inject({ url: '/v1/users/c1/events', headers: auth('read') });
      expect(events.json().events.map((e: { itemId: string }) => e.itemId).sort()).toEqual(['71053', '85123A']);
      // The unknown item 71053 was created on the fly.
      expect((await t.app.inject({ url: '/v1/items/71053', headers: auth('read') })).statusCode).toBe(200);
    });

    const badEvents: [string, unknown, string, RegExp][] = [
      ['a quantity of zero', { events: [event({ quantity: 0 })] }, 'VALIDATION_FAILED', /body\.events\.1\.quantity/],
      ['a negative quantity', { events: [event({ quantity: -2 })] }, 'VALIDATION_FAILED', /quantity/],
      ['a quantity sent as a string', { events: [event({ quantity: '6' })] }, 'VALIDATION_FAILED', /quantity/],
      ['an unparseable timestamp', { events: [event({ ts: 'yesterday' })] }, 'VALIDATION_FAILED', /ts: expected an ISO 8601/],
      ['a missing user id', { events: [{ itemId: 'x', quantity: 1 }] }, 'VALIDATION_FAILED', /userId/],
      ['an empty user id', { events: [event({ userId: '' })] }, 'VALIDATION_FAILED', /userId/],
      ['an unknown field', { events: [event({ colour: 'red' })] }, 'VALIDATION_FAILED', /colour/],
      ['no events array', { purchases: [] }, 'VALIDATION_FAILED', /events/],
      ['neither an event id nor a time', { events: [event({ ts: undefined })] }, 'VALIDATION_FAILED', /ts is required when no eventId/],
    ];
    for (const [what, payload, code, message] of badEvents) {
      it(`When a batch has ${what}, Then 400 ${code} names the field and nothing is written`, async () => {
        const before = await stored();
        // The bad event comes after a good one: a rejected batch must write neither.
        const withGood = { ...(payload as object) } as { events?: unknown[] };
        if (withGood.events) withGood.events = [event({ orderId: 'fresh' }), ...withGood.events];
        const res = await post('/v1/events', withGood);
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe(code);
        expect(res.json().error.message).toMatch(message);
        expect(await stored()).toBe(before);
      });
    }

    it('When an event with an id but no time is retried, Then it is stored once, at the time of the first request', async () => {
      const batch = { events: [event({ ts: undefined, eventId: 'no-time-1', orderId: 'nt' })] };
      expect((await post('/v1/events', batch)).json()).toMatchObject({ inserted: 1 });
      expect((await post('/v1/events', batch)).json()).toMatchObject({ inserted: 0, duplicates: 1 });
    });

    it('When a retried batch repeats stored purchases beside a new one, Then only the new one reaches the live state', async () => {
      const first = event({ userId: 'live-1', orderId: 'l1' });
      await post('/v1/events', { events: [first] });
      await post('/v1/events', { events: [first, event({ userId: 'live-1', itemId: 'other', orderId: 'l2' })] });
      expect((await t.services.store.getUserEvents('live-1')).map((e) => e.itemId)).toEqual(['85123A', 'other']);
    });

    it('When events are dated as the importers read dates (an offset without a colon, none, a date alone), Then the API stores the same times', async () => {
      const dated = (eventId: string, ts: string) => ({ eventId, userId: 'tz-1', itemId: 'tz-item', quantity: 1, ts });
      for (const events of [[dated('tz-a', '2024-03-01T10:00:00+0900'), dated('tz-b', '2024-03-01T10:00:00')], [dated('tz-c', '2024-03-02'), dated('tz-d', '2024-03-01T10:00:00-05:30')]]) {
        expect((await post('/v1/events', { events })).statusCode).toBe(200);
      }
      const times = (await t.app.inject({ url: '/v1/users/tz-1/events', headers: auth('read') })).json().events.map((e: { ts: string }) => e.ts).sort();
      // 10:00+09:00 is 01:00Z; no offset is UTC; a date is its midnight UTC; 10:00-05:30 is 15:30Z.
      expect(times).toEqual(['2024-03-01T01:00:00.000Z', '2024-03-01T10:00:00.000Z', '2024-03-01T15:30:00.000Z', '2024-03-02T00:00:00.000Z']);
    });

    it('When ids contain the separator, Then two different events keep two derived ids', async () => {
      const res = await post('/v1/events', { events: [event({ userId: 'a|b', itemId: 'c' }), event({ userId: 'a', itemId: 'b|c' })] });
      expect(res.json()).toMatchObject({ inserted: 2, duplicates: 0 });
    });

    it('When the body is not JSON, Then 400 MALFORMED_JSON and nothing is written', async () => {
      const before = await stored();
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...auth('write'), 'content-type': 'application/json' },
        payload: '{"events": [',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('MALFORMED_JSON');
      expect(await stored()).toBe(before);
    });

    it('When a JSON content type comes with no body, Then a route that needs one names the body, and one that needs none answers as usual', async () => {
      const json = { ...auth('admin'), 'content-type': 'application/json' };
      const events = await t.app.inject({ method: 'POST', url: '/v1/events', headers: json, payload: '' });
      expect(events.statusCode).toBe(400);
      expect(events.json().error.code).toBe('VALIDATION_FAILED');
      // The usual curl habit on a DELETE: the header, and no body.
      const erase = await t.app.inject({ method: 'DELETE', url: '/v1/users/nobody-at-all', headers: json, payload: '' });
      expect(erase.statusCode).toBe(404);
    });

    it('When the batch is over the limit, Then 413 BATCH_TOO_LARGE and nothing is written', async () => {
      const before = await stored();
      const res = await post('/v1/events', { events: [1, 2, 3, 4].map((n) => event({ orderId: `o${n}` })) });
      expect(res.statusCode).toBe(413);
      expect(res.json().error).toMatchObject({ code: 'BATCH_TOO_LARGE', message: expect.stringMatching(/at most 3/) });
      expect(await stored()).toBe(before);
    });

    it('When the body is over the byte limit, Then 413 PAYLOAD_TOO_LARGE and nothing is written', async () => {
      const before = await stored();
      const res = await post('/v1/events', { events: [event({ orderId: 'x'.repeat(5000) })] });
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(await stored()).toBe(before);
    });

    it('When an event is dated more than a day ahead of the server clock, Then 400 naming it and nothing of the batch is written', async () => {
      const before = await stored();
      const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
      // A storefront clock a few hours fast, or a local time sent as UTC, is still taken...
      const fast = await post('/v1/events', { events: [event({ orderId: 'clock-fast', ts: inHours(20) })] });
      expect(fast.statusCode).toBe(200);
      expect(await stored()).toBe(before + 1);
      // ...a date in 9999 or next week is a wrong clock: it would empty every "last N days" window.
      for (const ts of ['9999-12-31T23:59:59Z', inHours(7 * 24)]) {
        const res = await post('/v1/events', { events: [event({ orderId: 'fine-1' }), event({ orderId: 'clock-wrong', ts })] });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toMatch(/events\.1\.ts.*more than a day ahead of the server's clock/);
        expect(await stored()).toBe(before + 1);
      }
      const feedback = await post('/v1/feedback', { events: [{ type: 'click', userId: 'c1', itemId: '85123A', ts: '9999-12-31T23:59:59Z' }] });
      expect(feedback.statusCode).toBe(400);
    });

    it('When an event is dated before 1970 (a default value such as 1900-01-01 or 0001-01-01), Then 400 naming it and nothing of the batch is written', async () => {
      const before = await stored();
      for (const ts of ['1900-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59Z']) {
        const res = await post('/v1/events', { events: [event({ orderId: 'fine-2' }), event({ orderId: 'too-early', ts })] });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toMatch(/events\.1\.ts.*before 1970-01-01/);
      }
      expect(await stored()).toBe(before);
      // The epoch itself is a time a sender may mean.
      expect((await post('/v1/events', { events: [event({ orderId: 'epoch', ts: '1970-01-01T00:00:00Z' })] })).statusCode).toBe(200);
      const feedback = await post('/v1/feedback', { events: [{ type: 'click', userId: 'c1', itemId: '85123A', ts: '0001-01-01T00:00:00Z' }] });
      expect(feedback.statusCode).toBe(400);
      expect(feedback.json().error.message).toMatch(/before 1970-01-01/);
    });

    it('When an item batch has a negative price, Then 400 and no item of the batch is written', async () => {
      const res = await post('/v1/items/batch', { items: [{ id: 'ok-1', title: 'fine' }, { id: 'bad-1', price: -1 }] });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/items\.1\.price/);
      expect(await t.services.catalog.getItem('ok-1')).toBeNull();
    });

    it('When no key, a wrong key or a too-weak key is sent, Then 401/403 in the error shape', async () => {
      const none = await post('/v1/events', { events: [event()] }, {});
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('UNAUTHORIZED');
      const wrong = await post('/v1/events', { events: [event()] }, { authorization: 'Bearer nope-nope-nope' });
      expect(wrong.statusCode).toBe(401);
      // Near misses of the admin key: same length with the last character changed, and the key plus more.
      const lastChanged = KEYS.admin.slice(0, -1) + (KEYS.admin.endsWith('x') ? 'y' : 'x');
      for (const near of [lastChanged, `${KEYS.admin}x`, KEYS.admin.slice(0, -1)]) {
        expect((await post('/v1/events', { events: [event()] }, { authorization: `Bearer ${near}` })).statusCode).toBe(401);
      }
      const weak = await post('/v1/events', { events: [event()] }, auth('read'));
      expect(weak.statusCode).toBe(403);
      expect(weak.json().error.code).toBe('FORBIDDEN');
      // HEAD routes Fastify derives from GET routes are guarded the same way.
      expect((await t.app.inject({ method: 'HEAD', url: '/v1/items/85123A' })).statusCode).toBe(401);
      expect((await t.app.inject({ url: '/health/live' })).statusCode).toBe(200);
      const viaHeader = await t.app.inject({ url: '/v1/items/85123A', headers: { 'x-api-key': KEYS.admin } });
      expect(viaHeader.statusCode).toBe(200);
    });

    it('When an unknown item or route is asked for, Then 404 in the error shape', async () => {
      const item = await t.app.inject({ url: '/v1/items/nope', headers: auth('read') });
      expect(item.statusCode).toBe(404);
      expect(item.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'item "nope" not found' });
      const route = await t.app.inject({ url: '/v1/nothing-here' });
      expect(route.json().error.code).toBe('ROUTE_NOT_FOUND');
    });

    it('When a user is erased, Then events, attributes and live model state are gone', async () => {
      await t.app.inject({ method: 'PUT', url: '/v1/users/gone', headers: auth('write'), payload: { attributes: { country: 'France' } } });
      await post('/v1/events', { events: [event({ userId: 'gone' })] });
      expect(await t.services.store.getUserEvents('gone')).toHaveLength(1);
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/gone', headers: auth('write') })).statusCode).toBe(403);
      const del = await t.app.inject({ method: 'DELETE', url: '/v1/users/gone', headers: auth('admin') });
      expect(del.statusCode).toBe(204);
      expect((await t.app.inject({ url: '/v1/users/gone', headers: auth('read') })).statusCode).toBe(404);
      expect(await t.services.events.listUserPurchases('gone', { limit: 10, offset: 0 })).toEqual([]);
      expect(await t.services.store.getUserEvents('gone')).toEqual([]);
      // Sent again: the erasure stands (a retry is safe), and is not recorded again (no new erasure number
      // for trainings and replicas to act on).
      const record = async () => (await t.services.db.query('SELECT seq::text FROM erased_users WHERE user_id = $1', ['gone'])).rows;
      const first = await record();
      expect(first).toHaveLength(1);
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/gone', headers: auth('admin') })).statusCode).toBe(204);
      expect(await record()).toEqual(first);
    });

    it('When an erasure of the customer comes right after a PUT of their attributes, Then the PUT answers what it wrote (it read the row back, and found it gone: 500)', async () => {
      const catalog = t.services.catalog;
      const getUser = catalog.getUser;
      // The erasure lands between the write and anything read after it.
      catalog.getUser = async (id) => {
        await t.services.eraseUser(id);
        return getUser(id);
      };
      try {
        const res = await t.app.inject({ method: 'PUT', url: '/v1/users/erased-after', headers: auth('write'), payload: { attributes: { tier: 'gold' } } });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ id: 'erased-after', attributes: { tier: 'gold' } });
      } finally {
        catalog.getUser = getUser;
      }
    });

    it('When health is asked with purchases but no model trained yet, Then live is 200 and ready is 503 naming the missing model', async () => {
      expect((await t.app.inject({ url: '/health/live' })).statusCode).toBe(200);
      const ready = await t.app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'unavailable', checks: { database: true, modelStore: true, modelStoreWritable: true, activeModel: false, erasureCatchUp: true } });
    });
  });
}
