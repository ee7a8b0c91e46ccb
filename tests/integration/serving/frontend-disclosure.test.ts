/**
 * A browser holds a `frontend` key, which is public: anyone can send it with any customer id. Such a
 * request must not learn a customer's purchases, views or attributes (README, "Scopes"): unless the
 * shop's backend signed the customer's id for the page (X-User-Token), the answer is the one a visitor
 * nobody knows gets, so nothing in it depends on the customer, not even by what it leaves out.
 * Backend keys see everything, as before.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from './shop-fixture.js';

const FRONTEND = 'frontend-key-123456';
const SECRET = 'the-shops-signing-secret';
// Computed here as the shop's backend would, not with the service's own function.
const tokenOf = (userId: string) => createHmac('sha256', SECRET).update(userId).digest('hex');

type Answer = { items: { itemId: string; explanation?: string; sources: string[] }[]; error?: { code: string; message: string } };

describe('what a frontend key may learn about a customer, and add', () => {
  let t: TestApp;
  let bought: Map<string, string>;
  beforeAll(async () => {
    t = await createTestApp({
      createDb: createPgliteTestDb,
      env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`, FRONTEND_USER_SECRET: SECRET },
    });
    await seedShop(t.services);
    await trainAndPublish(t.services);
    const events = (await t.app.inject({ url: '/v1/users/k-user2/events', headers: { authorization: `Bearer ${KEYS.read}` } })).json().events as { itemId: string; title?: string }[];
    bought = new Map(events.map((e) => [e.itemId, e.title ?? e.itemId]));
    expect(bought.size).toBeGreaterThan(2);
  }, 60_000);
  afterAll(() => t?.dispose());

  const ask = async (url: string, headers: Record<string, string>, payload?: unknown) => {
    const res = await t.app.inject({ method: payload ? 'POST' : 'GET', url, headers, payload: payload as object });
    return { status: res.statusCode, body: res.json() as Answer };
  };
  const frontend = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${FRONTEND}`, ...extra });
  const named = (a: Answer) => a.items.filter((i) => [...bought.values()].some((title) => i.explanation?.includes(title)));

  it("When a backend key asks, Then the customer's purchases are named in explanations and listed on request (as before)", async () => {
    const { body } = await ask('/v1/users/k-user2/recommendations?k=10', { authorization: `Bearer ${KEYS.read}` });
    expect(named(body).length).toBeGreaterThan(0);
    const own = await ask('/v1/users/k-user2/recommendations?k=10&strategy=buy-again', { authorization: `Bearer ${KEYS.read}` });
    const repurchases = own.body.items.filter((i) => i.sources[0] === 'buy-again');
    expect(repurchases.length).toBeGreaterThan(0);
    expect(repurchases.every((i) => bought.has(i.itemId))).toBe(true);
  });

  it("When a frontend key asks without the customer's token, Then the answer is a stranger's, for every list, and own-item lists are refused", async () => {
    for (const strategy of ['', '&strategy=popularity', '&strategy=cooccurrence', '&strategy=item-knn']) {
      const customer = await ask(`/v1/users/k-user2/recommendations?k=20${strategy}`, frontend());
      const stranger = await ask(`/v1/users/never-seen-anywhere/recommendations?k=20${strategy}`, frontend());
      expect(customer.status).toBe(200);
      expect(customer.body.items.length).toBeGreaterThan(0);
      // Equal lists: the customer's purchases are neither named nor left out (the gaps were a copy of them).
      expect(customer.body.items).toEqual(stranger.body.items);
      expect(customer.body).toMatchObject({ fallback: true });
      expect(named(customer.body)).toEqual([]);
    }
    // The backend's list for them does leave their purchases out: the check above can tell.
    const backend = await ask('/v1/users/k-user2/recommendations?k=20&strategy=popularity', { authorization: `Bearer ${KEYS.read}` });
    const stranger = await ask('/v1/users/never-seen-anywhere/recommendations?k=20&strategy=popularity', frontend());
    expect(backend.body.items.map((i) => i.itemId)).not.toEqual(stranger.body.items.map((i) => i.itemId));
    for (const url of ['/v1/users/k-user2/recommendations?strategy=buy-again', '/v1/users/k-user2/recommendations?excludePurchased=false']) {
      const refused = await ask(url, frontend());
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('x-user-token') });
    }
    expect((await ask('/v1/users/k-user2/recommendations?strategy=nope', frontend())).status).toBe(400);
  });

  it("When the token is another customer's or made up, Then the answer is the same as without one", async () => {
    const without = await ask('/v1/users/k-user2/recommendations?k=10', frontend());
    for (const token of [tokenOf('k-user3'), 'not-a-token', tokenOf('k-user2').toUpperCase().slice(1)]) {
      const { body } = await ask('/v1/users/k-user2/recommendations?k=10', frontend({ 'x-user-token': token }));
      expect(body.items).toEqual(without.body.items);
    }
  });

  it("When a frontend key sends the customer's token signed by the shop, Then it gets what a backend key gets", async () => {
    const backend = await ask('/v1/users/k-user2/recommendations?k=10', { authorization: `Bearer ${KEYS.read}` });
    const signed = await ask('/v1/users/k-user2/recommendations?k=10', frontend({ 'x-user-token': tokenOf('k-user2') }));
    expect(signed.body.items).toEqual(backend.body.items);
    const own = await ask('/v1/users/k-user2/recommendations?strategy=buy-again', frontend({ 'x-user-token': tokenOf('k-user2') }));
    expect(own.status).toBe(200);
  });

  it('When a frontend key sends feedback about an item the catalog lacks, Then that event is not stored and no catalog item is made; a server key may still name new items', async () => {
    const send = (key: string, itemId: string) =>
      t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${key}` }, payload: { events: [{ userId: 'visitor-5', itemId, type: 'click', ts: new Date(Date.now() - 3_600_000).toISOString() }] } });
    const made = async (id: string) => (await t.app.inject({ url: `/v1/items/${id}`, headers: { authorization: `Bearer ${KEYS.read}` } })).statusCode;
    const browser = await send(FRONTEND, 'made-up-item');
    expect(browser.statusCode).toBe(200);
    expect(browser.json()).toEqual({ accepted: 1, unknownItems: 1, unknownLabels: 0 });
    expect(await made('made-up-item')).toBe(404);
    expect((await send(FRONTEND, 'g1')).json()).toEqual({ accepted: 1, unknownItems: 0, unknownLabels: 0 });
    expect((await send(KEYS.write, 'server-side-item')).json()).toEqual({ accepted: 1, inserted: 1, duplicates: 0, erased: 0 });
    expect(await made('server-side-item')).toBe(200);
  });

  it('When a frontend key sends feedback, Then the answer does not tell whether another visitor\'s event exists or a customer was erased', async () => {
    const click = { userId: 'k-user4', itemId: 'g2', type: 'click', ts: new Date(Date.now() - 3_600_000).toISOString() };
    const post = (key: string) => t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${key}` }, payload: { events: [click] } });
    // Stored once by the shop's server; a browser probing the same click learns nothing from the answer.
    expect((await post(KEYS.write)).json()).toMatchObject({ inserted: 1, duplicates: 0 });
    expect((await post(FRONTEND)).json()).toEqual({ accepted: 1, unknownItems: 0, unknownLabels: 0 });
    // Erased: a backend key is told the event was not stored; a browser is not told the customer was erased.
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/k-user4', headers: { authorization: `Bearer ${KEYS.admin}` } })).statusCode).toBeLessThan(300);
    expect((await post(KEYS.write)).json()).toMatchObject({ erased: 1 });
    expect((await post(FRONTEND)).json()).toEqual({ accepted: 1, unknownItems: 0, unknownLabels: 0 });
  });

  it('When the browser sends its own cart as context, Then the explanations may name it, as for a backend key', async () => {
    const body = { items: ['g3'], k: 5 };
    const backend = await ask('/v1/recommendations', { authorization: `Bearer ${KEYS.read}` }, body);
    const browser = await ask('/v1/recommendations', frontend(), body);
    expect(browser.body.items).toEqual(backend.body.items);
    expect(browser.body.items.some((i) => i.explanation?.includes('wooden garden fork'))).toBe(true);
  });

  it('When an experiment runs, Then a browser without the token is in no arm (its list is a stranger\'s), and a backend key is', async () => {
    const admin = { authorization: `Bearer ${KEYS.admin}` };
    const started = await t.app.inject({
      method: 'POST', url: '/v1/experiments', headers: admin,
      payload: { id: 'own-items-arm', arms: [{ name: 'control', strategy: 'hybrid', share: 0.5 }, { name: 'again', strategy: 'buy-again', share: 0.5 }] },
    });
    expect(started.statusCode).toBe(201);
    const users = ['k-user1', 'k-user2', 'k-user3', 'k-user4', 'k-user5', 'k-user6', 'g-user1', 'g-user2'];
    try {
      const answers = await Promise.all(users.map(async (u) => (await t.app.inject({ url: `/v1/users/${u}/recommendations?k=5`, headers: frontend() })).json() as Answer & { strategy: string; experiment?: unknown }));
      expect(answers.filter((a) => a.experiment !== undefined)).toEqual([]);
      expect(answers.filter((a) => a.strategy === 'buy-again')).toEqual([]);
      const arms = await Promise.all(users.map(async (u) =>
        ((await t.app.inject({ url: `/v1/users/${u}/recommendations?k=5`, headers: { authorization: `Bearer ${KEYS.read}` } })).json() as { experiment?: { arm: string } }).experiment?.arm));
      expect(arms).toContain('again');
      expect(arms).toContain('control');
    } finally {
      await t.app.inject({ method: 'POST', url: '/v1/experiments/own-items-arm/stop', headers: admin });
    }
  });

  it("When a visitor's stored views drive a context answer, Then a frontend key without their token gets the answer to what it sent, as if no id were given", async () => {
    const viewed = 'g3';
    const post = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${KEYS.write}` },
      payload: { events: [{ userId: 'visitor-9', itemId: viewed, type: 'view', ts: new Date(T0 + 80 * DAY).toISOString() }] },
    });
    expect(post.statusCode).toBe(200);
    const title = 'wooden garden fork';
    const backend = await ask('/v1/recommendations', { authorization: `Bearer ${KEYS.read}` }, { userId: 'visitor-9', k: 5 });
    expect(backend.body.items.some((i) => i.explanation?.includes(title))).toBe(true);
    const browser = await ask('/v1/recommendations', frontend(), { userId: 'visitor-9', k: 5 });
    const anonymous = await ask('/v1/recommendations', frontend(), { k: 5 });
    expect(browser.status).toBe(200);
    expect(browser.body.items).toEqual(anonymous.body.items);
    expect(browser.body.items.map((i) => i.itemId)).not.toEqual(backend.body.items.map((i) => i.itemId));
    // With a cart, its items are named as for anyone who sends them, with or without an id.
    const withCart = await ask('/v1/recommendations', frontend(), { userId: 'visitor-9', items: ['g3'], k: 5 });
    expect(withCart.body.items).toEqual((await ask('/v1/recommendations', frontend(), { items: ['g3'], k: 5 })).body.items);
    expect(withCart.body.items.some((i) => i.explanation?.includes(title))).toBe(true);
    // The visitor's signed token restores their views.
    const signed = await ask('/v1/recommendations', frontend({ 'x-user-token': tokenOf('visitor-9') }), { userId: 'visitor-9', k: 5 });
    expect(signed.body.items).toEqual(backend.body.items);
  });
});
