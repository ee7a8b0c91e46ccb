import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const postgres = DB_BACKENDS[0];

/**
 * README, POST /v1/returns: a return takes its units off the customer's purchases, "seen from the next training on"
 * (and the OpenAPI description: "Training, evaluation and profiles see it from the next training on"). A profile is
 * refreshed from Postgres whenever the store holds live events of the customer (profile-service: loadPurchaseRows
 * over the training's window, net of every return in it), which a customer whose purchases came through the API
 * has: for them the return is seen at once, before any training; a customer without live events keeps the trained
 * profile until they buy something. Either the docs or the profile's reading is wrong.
 */
describe.skipIf(!(await postgres.available()))('a return made after the training, before the next', () => {
  let t: TestApp;
  const day = (d: number) => new Date(Date.UTC(2026, 10, 1 + d, 10)).toISOString();
  const profile = async () => (await t.app.inject({ url: '/v1/users/fay/profile', headers: auth('read') })).json();

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    const events = [
      { userId: 'fay', itemId: 'scarf', quantity: 2, price: 12, orderId: 'f1', ts: day(0) },
      { userId: 'fay', itemId: 'hat', quantity: 1, price: 20, orderId: 'f1', ts: day(0) },
    ];
    for (let c = 0; c < 12; c++) {
      for (let o = 0; o < 1 + (c % 3); o++) events.push({ userId: `c${c}`, itemId: `tee-${(c + o) % 4}`, quantity: 1, price: 5 + c, orderId: `c${c}-${o}`, ts: day(1 + o) });
    }
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } })).statusCode).toBe(200);
    await t.services.trainer.train({ tune: false });
    await t.services.serving.refresh();
  }, 240_000);
  afterAll(() => t?.dispose());

  it('When one scarf is returned after the training and then a sock bought, Then the profile adds the sock and not yet the return', async () => {
    const trained = await profile();
    expect(trained.monetary).toBe(44);
    const ret = await t.app.inject({ method: 'POST', url: '/v1/returns', headers: auth('write'), payload: { returns: [{ userId: 'fay', itemId: 'scarf', quantity: 1, ts: day(5) }] } });
    expect(ret.statusCode).toBe(200);
    // Bought nothing since: the trained profile, return not seen.
    expect((await profile()).monetary).toBe(44);
    const sock = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ userId: 'fay', itemId: 'sock', quantity: 1, price: 5, orderId: 'f2', ts: day(6) }] } });
    expect(sock.statusCode).toBe(200);
    expect((await profile()).monetary).toBe(49);
  }, 60_000);
});
