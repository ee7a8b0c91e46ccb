/**
 * FEEDBACK_RETENTION_DAYS promises that the customer rows feedback alone made go with that feedback
 * (README "Retention"), so the public frontend key cannot grow the users table for good. A feedback event
 * whose id is already stored (a duplicate) is not stored, yet it still makes a customer row for the id it
 * names: a row no feedback names, which no sweep ever deletes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedbackRetention } from '../../../src/data/feedback-retention.js';
import { KEYS, auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb } from '../../helpers/services.js';

const FRONTEND = 'frontend-key-123456';
const DAY = 86_400_000;

describe('feedback retention and customer rows made by duplicate feedback', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      createDb: createPostgresTestDb,
      env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` },
    });
    await t.services.catalog.upsertItems([{ id: 'mug', title: 'red mug' }]);
  });
  afterAll(() => t?.dispose());

  const feedback = (userId: string, ts: Date) =>
    t.app.inject({
      method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}` },
      payload: { events: [{ eventId: 'page-42-impression', userId, itemId: 'mug', type: 'impression', ts: ts.toISOString() }] },
    });
  const userRow = async (id: string) => (await t.services.db.query('SELECT 1 FROM users WHERE id = $1', [id])).rows.length;

  it('When a browser sends feedback that is a duplicate of a stored event, Then no customer row outlives the retention sweep', async () => {
    const ts = new Date(Date.now() - DAY);
    expect((await feedback('shopper-a', ts)).statusCode).toBe(200);
    // The same event id sent again naming other customers: not stored (a duplicate).
    for (const id of ['shopper-b', 'shopper-c']) expect((await feedback(id, ts)).statusCode).toBe(200);
    const { rows } = await t.services.db.query<{ user_id: string }>('SELECT user_id FROM feedback_events');
    expect(rows.map((r) => r.user_id)).toEqual(['shopper-a']);
    // Nothing was stored for them, so the service does not know them at all (no sweep needed).
    expect(await userRow('shopper-b')).toBe(0);
    expect((await t.app.inject({ method: 'GET', url: '/v1/users/shopper-c', headers: auth('read') })).statusCode).toBe(404);

    // Thirty days later, with a 10-day retention: every feedback event is expired and deleted.
    const sweep = await createFeedbackRetention({ db: t.services.db, days: 10, now: () => new Date(Date.now() + 30 * DAY) }).sweep();
    expect(sweep.feedback).toBe(1);
    expect((await t.services.db.query('SELECT 1 FROM feedback_events')).rows).toHaveLength(0);
    expect(await userRow('shopper-a')).toBe(0);
    // The rows feedback made for shopper-b and shopper-c hold nothing and no feedback names them: they must go too.
    expect(await userRow('shopper-b')).toBe(0);
    expect(await userRow('shopper-c')).toBe(0);
  });

  it('When a batch holds a duplicate and a new event of the same new customer, Then the customer row stays with the stored event', async () => {
    const send = (userId: string, eventIds: string[]) =>
      t.app.inject({
        method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}` },
        payload: { events: eventIds.map((eventId) => ({ eventId, userId, itemId: 'mug', type: 'impression', ts: new Date().toISOString() })) },
      });
    expect((await send('shopper-e', ['page-50-impression'])).statusCode).toBe(200);
    const res = await send('shopper-d', ['page-50-impression', 'page-51-impression']);
    expect(res.statusCode).toBe(200);
    expect((await t.services.db.query("SELECT 1 FROM feedback_events WHERE user_id = 'shopper-d'")).rows).toHaveLength(1);
    expect(await userRow('shopper-d')).toBe(1);
  });

  it('Given customer rows duplicates made before the fix (named by no feedback), When a process first sweeps, Then they go and rows holding something stay', async () => {
    // What the bug left: rows feedback made that no feedback names; and flagged rows that hold something.
    await t.services.db.query("INSERT INTO users (id, made_by_feedback) VALUES ('left-1', true), ('left-2', true), ('left-buyer', true), ('left-shop', false)");
    await t.services.events.insertPurchases([{ userId: 'left-buyer', itemId: 'mug', quantity: 1, ts: new Date('2025-01-01T00:00:00Z') }]);
    const retention = createFeedbackRetention({ db: t.services.db, days: 10 });
    const first = await retention.sweep();
    expect(first.users).toBe(2);
    for (const [id, n] of [['left-1', 0], ['left-2', 0], ['left-buyer', 1], ['left-shop', 1], ['shopper-d', 1]] as const) expect([id, await userRow(id)]).toEqual([id, n]);
  });
});
