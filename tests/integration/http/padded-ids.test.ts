/**
 * The importers trim the cells of a file, ids included; the API took ids as sent. `SKU1 ` put over HTTP and
 * `SKU1` imported were two products (and a customer's purchases split between two customers). The ingestion
 * writes now refuse a new id with white space at either end (400 naming the field); an id already stored so
 * (before this, or by a browser's feedback, which takes any customer id) stays writable, readable and erasable.
 * Feedback with a write key creates the customers and products it names and records its purchases, so it
 * refuses such new ids too.
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
