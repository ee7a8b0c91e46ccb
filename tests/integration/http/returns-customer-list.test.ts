import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const postgres = DB_BACKENDS[0];

/**
 * GET /v1/users (the dashboard's Customers view) documents its totals as the profile's: `orders` "as the profile's
 * frequency counts them", `spend` "to the cent, as the profile's monetary". Since returns, the README says spend is
 * net of returns ("a purchase returned whole counts in none of spend, frequency and recency, and one returned in
 * part counts the units kept"), but the customer list still sums purchase_events as stored.
 */
describe.skipIf(!(await postgres.available()))('GET /v1/users totals after a return', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    const bought = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [
        { userId: 'cora', itemId: 'coat', quantity: 1, price: 90, orderId: 'o1', ts: '2026-11-02T10:00:00.000Z' },
        { userId: 'cora', itemId: 'sock', quantity: 4, price: 5, orderId: 'o2', ts: '2026-11-02T11:00:00.000Z' },
      ] },
    });
    expect(bought.statusCode).toBe(200);
    const returned = await t.app.inject({
      method: 'POST', url: '/v1/returns', headers: auth('write'),
      payload: { returns: [
        { userId: 'cora', itemId: 'coat', quantity: 1, orderId: 'o1', ts: '2026-11-03T10:00:00.000Z' },
        { userId: 'cora', itemId: 'sock', quantity: 1, orderId: 'o2', ts: '2026-11-03T10:00:00.000Z' },
      ] },
    });
    expect(returned.statusCode).toBe(200);
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When the coat is returned whole and one sock of four, Then the list counts one order of three socks: spend 15', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/users?q=cora', headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    const [cora] = res.json().customers;
    expect(cora.spend).toBe(15);
    expect(cora.orders).toBe(1);
  });

  it.each(['spend', 'recent'])('When the list is sorted by %s, Then its totals are net of the returns too', async (sort) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/users?q=cora&sort=${sort}`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    const [cora] = res.json().customers;
    expect(cora.spend).toBe(15);
    expect(cora.orders).toBe(1);
  });
});
