/**
 * A `frontend` key is public (README, "Scopes"): it may ask for item lists, but not read any customer's
 * purchases. `GET /v1/popular?attribute=name:value` lists what the buyers with that attribute value bought:
 * for a value only one customer has (an e-mail address, a loyalty number, a country of one customer such as
 * Online Retail's Iceland) that is that customer's purchases, each explained "popular with <value>". The
 * model's segment lists hold back values with fewer than minSegmentBuyers buyers (falling back to everyone's
 * popularity); the lists Postgres counts (`windowDays`, or no model yet, also for POST /v1/recommendations'
 * `attributes`) hold back nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const FRONTEND = 'frontend-key-123456';

describe('popular items by an attribute value, asked with the public frontend key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      createDb: createPgliteTestDb,
      env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` },
    });
    const write = { authorization: `Bearer ${KEYS.write}` };
    const items = [...Array.from({ length: 20 }, (_, i) => ({ id: `i${i}`, title: `item ${i}` })), { id: 'private-item', title: 'something personal' }];
    expect((await t.app.inject({ method: 'POST', url: '/v1/items/batch', headers: write, payload: { items } })).statusCode).toBe(200);
    const alice = await t.app.inject({ method: 'PUT', url: '/v1/users/alice', headers: write, payload: { attributes: { email: 'alice@example.com' } } });
    expect(alice.statusCode).toBe(200);
    const events: object[] = [];
    for (let u = 0; u < 10; u++) for (let i = 0; i < 5; i++) events.push({ userId: `u${u}`, itemId: `i${(u + i) % 20}`, quantity: 1, ts: `2024-01-0${1 + i}T10:00:00Z` });
    events.push({ userId: 'alice', itemId: 'private-item', quantity: 1, ts: '2024-01-03T10:00:00Z' });
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: write, payload: { events } })).statusCode).toBe(200);
  }, 60_000);
  afterAll(() => t?.dispose());

  const popular = async (query: string) => {
    const res = await t.app.inject({ url: `/v1/popular?${query}`, headers: { authorization: `Bearer ${FRONTEND}` } });
    expect(res.statusCode).toBe(200);
    return (res.json().items as { itemId: string }[]).map((i) => i.itemId);
  };

  for (const window of ['&windowDays=3650', '']) {
    it(`When the value is one customer's${window ? ' (windowDays)' : ' (no model yet)'}, Then the list is the one of a value nobody has: nothing of theirs`, async () => {
      const ofAlice = await popular(`attribute=email:alice@example.com&k=5${window}`);
      const ofNobody = await popular(`attribute=email:nobody@example.com&k=5${window}`);
      expect(ofAlice).not.toContain('private-item');
      expect(ofAlice).toEqual(ofNobody);
    });
  }

  it("When a visitor's answer before the first training is asked with the customer's attribute value, Then nothing of theirs either", async () => {
    // POST /v1/recommendations with no model active answers popularity of the first attribute sent (preferredAttribute).
    const context = async (attributes: Record<string, string>) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: { authorization: `Bearer ${FRONTEND}` }, payload: { items: [], attributes, k: 5 } });
      expect(res.statusCode).toBe(200);
      return (res.json().items as { itemId: string }[]).map((i) => i.itemId);
    };
    const ofAlice = await context({ email: 'alice@example.com' });
    expect(ofAlice).not.toContain('private-item');
    expect(ofAlice).toEqual(await context({ email: 'nobody@example.com' }));
  });
});
