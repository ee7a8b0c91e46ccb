/**
 * The importers trim the cells of a file, ids included; the API took ids as sent. `SKU1 ` put over HTTP and
 * `SKU1` imported were two products (and a customer's purchases split between two customers). The ingestion
 * writes now refuse a new id with white space at either end (400 naming the field); an id already stored so
 * (before this, or by a browser's feedback, which takes any customer id) stays writable, readable and erasable.
 * Feedback with a write key creates the customers and products it names and records its purchases, so it
 * refuses such new ids too. The importers trim event_id and order_id as well, so POST /v1/events refuses new
 * padded event and order ids the same way (a stored one is a retry's duplicate, or an order taking more purchases).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const FRONTEND = 'frontend-key-padded-1';
const purchase = (userId: string, itemId: string, n = 0) => ({ userId, itemId, quantity: 1, price: 2.5, orderId: `o-${n}`, ts: `2011-0${1 + (n % 9)}-01T10:00:00Z` });
const path = (id: string) => encodeURIComponent(id);

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('ids with white space at either end', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb, env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` } });
  });
  afterAll(() => t?.dispose());

  const count = async (table: string) => (await t.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  const refusal = (res: { statusCode: number; json: () => { error: { code: string; message: string; details?: { path: string }[] } } }) => {
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/must not begin or end with white space .*importers trim ids.*send it trimmed/) });
    return res.json().error.details!.map((d) => d.path);
  };

  it('When a new item, customer or event names an id with a space, tab or no-break space at either end, Then 400 names each such field and nothing is stored', async () => {
    const before = await Promise.all(['items', 'users', 'purchase_events'].map(count));
    expect(refusal(await t.app.inject({ method: 'PUT', url: `/v1/items/${path('SKU1 ')}`, headers: auth('write'), payload: { title: 'mug' } }))).toEqual(['params.id']);
    expect(refusal(await t.app.inject({ method: 'PUT', url: `/v1/users/${path('\tc1')}`, headers: auth('write'), payload: { attributes: {} } }))).toEqual(['params.id']);
    const batch = await t.app.inject({ method: 'POST', url: '/v1/items/batch', headers: auth('write'), payload: { items: [{ id: 'SKU2' }, { id: '\u00a0SKU3' }] } });
    expect(refusal(batch)).toEqual(['body.items.1.id']);
    const events = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: { events: [purchase('c2', 'SKU4 ', 1), purchase('c3', 'SKU4', 2), { type: 'view', userId: ' c4', itemId: 'SKU4', ts: '2011-02-01T10:00:00Z' }] },
    });
    expect(refusal(events)).toEqual(['body.events.0.itemId', 'body.events.2.userId']);
    // All or nothing: the batch's trimmed ids (SKU2, c3, SKU4) are not stored either.
    expect(await Promise.all(['items', 'users', 'purchase_events'].map(count))).toEqual(before);
  });

  it('When feedback sent with a write key names a new customer or product id with white space at either end, Then 400 names each such field and nothing is stored', async () => {
    const tables = ['items', 'users', 'purchase_events', 'feedback_events'];
    const before = await Promise.all(tables.map(count));
    const ts = '2011-03-01T10:00:00Z';
    const fb = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth('write'),
      payload: {
        events: [
          { userId: 'fc1', itemId: 'FSKU1', type: 'click', ts },
          { userId: 'fc2 ', itemId: 'FSKU2', type: 'purchase', ts },
          { userId: 'fc3', itemId: '\u00a0FSKU3', type: 'impression', ts },
        ],
      },
    });
    expect(refusal(fb)).toEqual(['body.events.1.userId', 'body.events.2.itemId']);
    // All or nothing, purchases included.
    expect(await Promise.all(tables.map(count))).toEqual(before);
  });

  it('When a new purchase or view names an event id or order id with white space at either end, Then 400 names each such field and nothing is stored', async () => {
    // The importers trim event_id and order_id too: `o-7 ` sent here and `o-7` imported were two orders, a retry
    // of `e-1 ` imported as `e-1` a second purchase.
    const tables = ['items', 'users', 'purchase_events', 'interaction_events'];
    const before = await Promise.all(tables.map(count));
    const events = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: {
        events: [
          { ...purchase('e-c1', 'E-SKU1', 1), eventId: 'e-1 ' },
          { ...purchase('e-c1', 'E-SKU2', 1), orderId: '\to-7' },
          { ...purchase('e-c1', 'E-SKU3', 1), eventId: 'e-3', orderId: 'o-7' },
          { type: 'view', eventId: '\u00a0v-1', userId: 'e-c1', itemId: 'E-SKU1', ts: '2011-02-01T10:00:00Z' },
        ],
      },
    });
    expect(refusal(events)).toEqual(['body.events.0.eventId', 'body.events.1.orderId', 'body.events.3.eventId']);
    expect(await Promise.all(tables.map(count))).toEqual(before);
  });

  it('When a padded event id or order id is already stored, Then a retry of its event is a duplicate and its order takes more purchases', async () => {
    // Stored before this check (here: through the repositories, as the API once took any id).
    await t.services.events.insertPurchases([
      { eventId: 'old-e1 ', userId: 'old-c1', itemId: 'OLD-SKU1', quantity: 1, price: 1, orderId: 'old-o1 ', ts: new Date('2011-04-01T10:00:00Z') },
    ]);
    await t.services.events.insertInteractions([{ eventId: 'old-v1 ', type: 'view', userId: 'old-c1', itemId: 'OLD-SKU1', value: null, ts: new Date('2011-04-01T10:00:00Z') }]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: {
        events: [
          { ...purchase('old-c1', 'OLD-SKU1', 3), eventId: 'old-e1 ', orderId: 'old-o1 ' },
          { ...purchase('old-c1', 'OLD-SKU2', 3), eventId: 'old-e2', orderId: 'old-o1 ' },
          { type: 'view', eventId: 'old-v1 ', userId: 'old-c1', itemId: 'OLD-SKU1', ts: '2011-04-01T10:00:00Z' },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 3, inserted: 1, duplicates: 2 });
    const orders = await t.services.db.query("SELECT order_id FROM purchase_events WHERE user_id = 'old-c1' ORDER BY event_id");
    expect(orders.rows).toEqual([{ order_id: 'old-o1 ' }, { order_id: 'old-o1 ' }]);
    // Another customer's order of that id is a new order of theirs: refused.
    const other = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ ...purchase('old-c2', 'OLD-SKU1', 3), orderId: 'old-o1 ' }] } });
    expect(refusal(other)).toEqual(['body.events.0.orderId']);
  });

  it('When an erased customer\'s batch is sent again with event and order ids stored padded before the check, Then its events count as erased, not as a 400', async () => {
    // Stored before this check, as the API once took any event and order id; then the customer is erased.
    const ts = new Date('2011-05-01T10:00:00Z');
    await t.services.events.insertPurchases([{ eventId: 'er-e1 ', userId: 'er-c1', itemId: 'ER-SKU1', quantity: 1, price: 1, orderId: 'er-o1 ', ts }]);
    await t.services.events.insertInteractions([{ eventId: 'er-v1 ', type: 'view', userId: 'er-c1', itemId: 'ER-SKU1', value: null, ts }]);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/er-c1', headers: auth('admin') })).statusCode).toBe(204);
    // The shop's retry of that batch (README "Later ingestion": a replayed batch is counted as erased, not stored).
    const replay = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: {
        events: [
          { eventId: 'er-e1 ', userId: 'er-c1', itemId: 'ER-SKU1', quantity: 1, price: 1, orderId: 'er-o1 ', ts: ts.toISOString() },
          { type: 'view', eventId: 'er-v1 ', userId: 'er-c1', itemId: 'ER-SKU1', ts: ts.toISOString() },
        ],
      },
    });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toMatchObject({ accepted: 2, inserted: 0, erased: 2 });
  });

  it("When an erased customer's batch is sent again, Then a padded order id of a purchase without eventId counts as erased too, and their new events after the erasure are refused as new ids", async () => {
    const ts = new Date('2011-05-02T10:00:00Z');
    // Stored before the check with no eventId: its id is derived from its content, as the retry's is.
    await t.services.events.insertPurchases([{ userId: 'er-c2', itemId: 'ER-SKU2', quantity: 2, price: 3, orderId: 'er-o2 ', ts }]);
    // And a view dated after the erasure to come (an hour ahead, as a clock may be): the erasure knows its id.
    const ahead = new Date(Date.now() + 3_600_000).toISOString();
    await t.services.events.insertInteractions([{ eventId: 'er-v2 ', type: 'view', userId: 'er-c2', itemId: 'ER-SKU2', value: null, ts: new Date(ahead) }]);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/er-c2', headers: auth('admin') })).statusCode).toBe(204);
    const replayed = { userId: 'er-c2', itemId: 'ER-SKU2', quantity: 2, price: 3, orderId: 'er-o2 ', ts: ts.toISOString() };
    const view = { type: 'view', eventId: 'er-v2 ', userId: 'er-c2', itemId: 'ER-SKU2', ts: ahead };
    const replay = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [replayed, view] } });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toMatchObject({ accepted: 2, inserted: 0, erased: 2 });
    // What the customer does after the erasure is a new customer's: its padded ids are new, as anyone's are.
    const before = await count('purchase_events');
    const later = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: {
        events: [
          replayed,
          { userId: 'er-c2', itemId: 'ER-SKU2', quantity: 1, price: 3, eventId: 'er-e9 ' },
          { userId: 'er-c2', itemId: 'ER-SKU2', quantity: 1, price: 3, eventId: 'er-e10', orderId: 'er-o2 ' },
        ],
      },
    });
    expect(refusal(later)).toEqual(['body.events.1.eventId', 'body.events.2.orderId']);
    expect(await count('purchase_events')).toBe(before);
  });

  it('When an erased customer whose id was stored padded has their feedback sent again with a write key, Then it counts as erased, not as a 400', async () => {
    // A customer stored padded before the check (as ingestion once took any id), with feedback a server sent.
    await t.services.catalog.upsertUsers([{ id: 'fer-c1 ', attributes: {} }]);
    const feedback = { events: [{ eventId: 'fer-f1', userId: 'fer-c1 ', itemId: 'FER-SKU1', type: 'purchase', ts: '2011-05-01T10:00:00Z' }] };
    const first = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: feedback });
    expect(first.json()).toMatchObject({ inserted: 1 });
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${path('fer-c1 ')}`, headers: auth('admin') })).statusCode).toBe(204);
    // The server's retry of that batch: an erased customer's replayed events are counted as erased (README "Later ingestion").
    const replay = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: feedback });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toMatchObject({ accepted: 1, inserted: 0, erased: 1 });
  });

  it('When an erased customer whose id was stored padded has their events sent again, Then they count as erased, and what they send after the erasure is stored under that id as before', async () => {
    const ts = '2011-05-03T10:00:00Z';
    await t.services.events.insertPurchases([{ eventId: 'per-e1', userId: 'per-c1 ', itemId: 'PER-SKU1', quantity: 1, price: 1, orderId: 'per-o1', ts: new Date(ts) }]);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${path('per-c1 ')}`, headers: auth('admin') })).statusCode).toBe(204);
    const events = [
      { eventId: 'per-e1', userId: 'per-c1 ', itemId: 'PER-SKU1', quantity: 1, price: 1, orderId: 'per-o1', ts },
      { type: 'view', eventId: 'per-v1', userId: 'per-c1 ', itemId: 'PER-SKU1', ts },
    ];
    const replay = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toMatchObject({ accepted: 2, inserted: 0, erased: 2 });
    // The id was stored before: the customer coming back after the erasure keeps it, as any erased customer does.
    const back = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ eventId: 'per-e2', userId: 'per-c1 ', itemId: 'PER-SKU1', quantity: 1, price: 1 }] } });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json()).toMatchObject({ accepted: 1, inserted: 1, erased: 0 });
    // An id never stored, erased or not, is still new.
    const other = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ eventId: 'per-e3', userId: 'per-c2 ', itemId: 'PER-SKU1', quantity: 1, price: 1, ts }] } });
    expect(refusal(other)).toEqual(['body.events.0.userId']);
  });

  it('When an id has spaces inside it only, Then it is stored as sent', async () => {
    expect((await t.app.inject({ method: 'PUT', url: `/v1/items/${path('SKU 5')}`, headers: auth('write'), payload: { title: 'jug' } })).statusCode).toBe(200);
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [purchase('c 5', 'SKU 5', 3)] } });
    expect(res.json()).toMatchObject({ inserted: 1 });
  });

  it('When an id with a space at its end is already stored, Then it is written, read and erased as before, and feedback still takes it', async () => {
    // Stored before this check (here: written to the catalog directly, as ingestion once took any id).
    await t.services.catalog.upsertItems([{ id: 'OLD1 ', title: 'mug' }]);
    await t.services.catalog.upsertUsers([{ id: 'legacy ', attributes: {} }]);
    const fb = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth('write'),
      payload: { events: [{ userId: 'legacy ', itemId: 'OLD1 ', type: 'click', ts: '2011-03-01T10:00:00Z' }] },
    });
    expect(fb.json()).toMatchObject({ inserted: 1 });
    expect((await t.app.inject({ method: 'PUT', url: `/v1/items/${path('OLD1 ')}`, headers: auth('write'), payload: { title: 'old mug' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/v1/items/batch', headers: auth('write'), payload: { items: [{ id: 'OLD1 ', title: 'old mug, blue' }] } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PUT', url: `/v1/users/${path('legacy ')}`, headers: auth('write'), payload: { attributes: { country: 'UK' } } })).statusCode).toBe(200);
    const bought = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [purchase('legacy ', 'OLD1 ', 4)] } });
    expect(bought.json()).toMatchObject({ inserted: 1 });
    expect((await t.app.inject({ url: `/v1/items/${path('OLD1 ')}`, headers: auth('read') })).json()).toMatchObject({ id: 'OLD1 ', title: 'old mug, blue' });
    expect((await t.app.inject({ url: `/v1/users/${path('legacy ')}`, headers: auth('read') })).json()).toMatchObject({ id: 'legacy ', attributes: { country: 'UK' } });
    // A browser's feedback on it (and on a new padded customer) is taken as before.
    const browser = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { authorization: `Bearer ${FRONTEND}` },
      payload: { events: [{ userId: 'visitor ', itemId: 'OLD1 ', type: 'impression', ts: new Date().toISOString() }] },
    });
    expect(browser.json()).toMatchObject({ accepted: 1, unknownItems: 0 });
    // And erased.
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${path('legacy ')}`, headers: auth('admin') })).statusCode).toBeLessThan(300);
    expect((await t.app.inject({ url: `/v1/users/${path('legacy ')}`, headers: auth('read') })).statusCode).toBe(404);
    expect((await t.services.db.query("SELECT 1 FROM purchase_events WHERE user_id = 'legacy '")).rows).toEqual([]);
  });
});
