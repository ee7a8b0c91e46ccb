import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// 591c777 / README: a write key's purchase feedback is recorded as a purchase `feedback:<id>` "of a repeated
// eventId, only when the first event stored under it is the purchase". The recorder checks the first event of
// the id within the batch only: an id stored earlier as an impression (a first batch, a retry with other
// content) and sent again as a purchase leaves the feedback row an impression of p1, while a sale of p2 is
// recorded (buy-again, training, live state) under `feedback:<id>`: reports and purchases disagree again.
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('purchase feedback repeating an eventId stored by an earlier batch', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
  });
  afterAll(() => t.dispose());

  const ts = '2024-03-01T10:00:00Z';
  const itemsOf = async (table: string, eventId: string) =>
    (await t.services.db.query<{ item_id: string }>(`SELECT item_id FROM ${table} WHERE event_id = $1`, [eventId])).rows.map((r) => r.item_id);
  const send = async (events: unknown[]) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { inserted: number; duplicates: number };
  };

  it('When an impression was stored under an eventId and a later batch sends a purchase under it, Then no purchase is recorded for it', async () => {
    expect(await send([{ eventId: 'fb-z', userId: 'u-fz', itemId: 'p1', type: 'impression', ts }])).toMatchObject({ inserted: 1 });
    expect(await send([{ eventId: 'fb-z', userId: 'u-fz', itemId: 'p2', type: 'purchase', ts }])).toMatchObject({ inserted: 0, duplicates: 1 });
    expect(await itemsOf('feedback_events', 'fb-z')).toEqual(['p1']);
    expect(await itemsOf('purchase_events', 'feedback:fb-z')).toEqual([]);
    expect(await t.services.store.getUserEvents('u-fz')).toEqual([]);
  });
});
