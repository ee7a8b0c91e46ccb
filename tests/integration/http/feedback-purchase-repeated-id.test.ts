import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// A purchase batch repeating an eventId stores its first event (README: "a purchase whose eventId an earlier one
// of the same batch has is a duplicate"). Purchase feedback sent with a write key is stored twice: as feedback
// and as the purchase `feedback:<id>`; feedback kept whichever row of a repeated id Postgres's unstable sort put
// first, and interactions likewise. Every event write now stores the first event of an id.
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('an event batch repeating an eventId', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
  });
  afterAll(() => t.dispose());

  const ts = '2024-03-01T10:00:00Z';
  // A busier batch: the sort of the insert is no longer an insertion sort.
  const filler = (eventId: string, fields: Record<string, unknown>) => Array.from({ length: 200 }, (_, n) => ({ eventId, itemId: `q${n}`, ts, ...fields }));
  const itemsOf = async (table: string, eventId: string) =>
    (await t.services.db.query<{ item_id: string }>(`SELECT item_id FROM ${table} WHERE event_id = $1`, [eventId])).rows.map((r) => r.item_id);

  it('When a write key sends purchase feedback repeating an eventId, Then the stored feedback and the stored purchase name the same product (the first)', async () => {
    const events = [
      ...['p1', 'p2', 'p3'].map((itemId) => ({ eventId: 'fb-x', userId: 'u-fb', itemId, type: 'purchase', strategy: 'hybrid', ts })),
      ...filler('fb-a', { userId: 'u-fb', type: 'impression', strategy: 'hybrid' }),
    ];
    const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ inserted: 2, duplicates: 201 });
    expect(await itemsOf('purchase_events', 'feedback:fb-x')).toEqual(['p1']);
    expect(await itemsOf('feedback_events', 'fb-x')).toEqual(['p1']);
    expect((await t.services.store.getUserEvents('u-fb')).map((e) => e.itemId)).toEqual(['p1']);
  });

  it('When the first feedback of an eventId is an impression and a later one a purchase, Then no purchase is recorded for it', async () => {
    const events = [
      { eventId: 'fb-y', userId: 'u-fy', itemId: 'p1', type: 'impression', ts },
      { eventId: 'fb-y', userId: 'u-fy', itemId: 'p2', type: 'purchase', ts },
    ];
    const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ inserted: 1, duplicates: 1 });
    expect(await itemsOf('feedback_events', 'fb-y')).toEqual(['p1']);
    expect(await itemsOf('purchase_events', 'feedback:fb-y')).toEqual([]);
    expect(await t.services.store.getUserEvents('u-fy')).toEqual([]);
  });

  it('When views repeat an eventId in one batch, Then the first is stored and the others are duplicates', async () => {
    const events = [
      ...['v1', 'v2', 'v3'].map((itemId) => ({ eventId: 'iv-x', userId: 'u-iv', itemId, type: 'view', ts })),
      ...filler('iv-a', { userId: 'u-iv', type: 'view' }),
    ];
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ inserted: 2, duplicates: 201 });
    expect(await itemsOf('interaction_events', 'iv-x')).toEqual(['v1']);
    expect(await itemsOf('interaction_events', 'iv-a')).toEqual(['q0']);
  });

  // The purchases were taken from the batch, not from what the ids hold: a sale was recorded under an id stored
  // as an impression by an earlier batch.
  it('When an impression was stored under an eventId and a later batch sends a purchase under it, Then no purchase is recorded for it', async () => {
    const send = async (events: unknown[]) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { inserted: number; duplicates: number };
    };
    expect(await send([{ eventId: 'fb-z', userId: 'u-fz', itemId: 'p1', type: 'impression', ts }])).toMatchObject({ inserted: 1 });
    expect(await send([{ eventId: 'fb-z', userId: 'u-fz', itemId: 'p2', type: 'purchase', ts }])).toMatchObject({ inserted: 0, duplicates: 1 });
    expect(await itemsOf('feedback_events', 'fb-z')).toEqual(['p1']);
    expect(await itemsOf('purchase_events', 'feedback:fb-z')).toEqual([]);
    expect(await t.services.store.getUserEvents('u-fz')).toEqual([]);
  });
});
