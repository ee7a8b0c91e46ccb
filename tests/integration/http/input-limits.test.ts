import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTES } from '../../../src/http/schemas/common.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/** Bad input is a 400 in the error shape naming what is wrong, and nothing of a rejected write is stored. */
describe('input limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb });
  });
  afterAll(() => t?.dispose());

  const send = (method: 'PUT' | 'POST', url: string, payload: unknown) =>
    t.app.inject({ method, url, headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  const purchaseCount = async () => Number((await t.services.db.query<{ n: string }>('SELECT count(*) AS n FROM purchase_events')).rows[0].n);

  it('When a body nests 200,000 levels deep, Then 400 JSON_TOO_DEEP and nothing is stored', async () => {
    const deep = `{"events":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const res = await send('POST', '/v1/events', deep);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'JSON_TOO_DEEP', message: expect.stringMatching(/deeper than 32 levels/) });
    expect(await purchaseCount()).toBe(0);
  });

  it('When a training or an evaluation asks for a time Postgres cannot hold (year 0, past 9999 in UTC), Then 400 names the field and no job is queued', async () => {
    const jobsBefore = Number((await t.services.db.query<{ n: string }>('SELECT count(*) AS n FROM jobs')).rows[0].n);
    // Before, each was accepted (202) and its job failed on Postgres's "out of range".
    const refused: [string, unknown, string][] = [
      ['/v1/training-jobs', { to: '0000-01-01T00:00:00Z', tune: false }, 'body.to'],
      ['/v1/training-jobs', { from: '9999-12-31T23:30:00-01:00', tune: false }, 'body.from'],
      ['/v1/evaluations', { split: { kind: 'validation', days: 7, end: '9999-12-31T23:30:00-01:00' }, tune: false }, 'body.split.end'],
      ['/v1/evaluations', { split: { kind: 'temporal', cutoff: '0000-06-01' }, tune: false }, 'body.split.cutoff'],
    ];
    for (const [url, body, field] of refused) {
      const res = await send('POST', url, body);
      expect(res.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) });
      expect(res.json().error.message).toMatch(/0001-01-01 to 9999-12-31/);
    }
    expect(Number((await t.services.db.query<{ n: string }>('SELECT count(*) AS n FROM jobs')).rows[0].n)).toBe(jobsBefore);
  });

  it('When a body nests within the limit but in a place the schema does not allow, Then 400 VALIDATION_FAILED', async () => {
    const res = await send('PUT', '/v1/users/deepish', { attributes: { a: { b: { c: [[['x']]] } } } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^body\.attributes\.a/) });
    expect(await t.services.catalog.getUser('deepish')).toBeNull();
  });

  it('When a user has more attributes than allowed, Then 400 names the attributes and the user is not stored', async () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, 'x']));
    const refused = await send('PUT', '/v1/users/crowded', { attributes: many(100_000) });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: `body.attributes: at most ${MAX_ATTRIBUTES} attributes` });
    expect(await t.services.catalog.getUser('crowded')).toBeNull();

    const item = await send('PUT', '/v1/items/crowded', { title: 'x', attributes: many(MAX_ATTRIBUTES + 1) });
    expect(item.statusCode).toBe(400);
    expect(await t.services.catalog.getItem('crowded')).toBeNull();

    const accepted = await send('PUT', '/v1/users/full', { attributes: many(MAX_ATTRIBUTES) });
    expect(accepted.statusCode).toBe(200);
    expect(Object.keys(accepted.json().attributes)).toHaveLength(MAX_ATTRIBUTES);
  });

  it('When an attribute value is too long, Then 400 names that attribute', async () => {
    const res = await send('PUT', '/v1/users/verbose', { attributes: { bio: 'x'.repeat(1001) } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/^body\.attributes\.bio/);
  });

  it('When a price or quantity is out of range (1e308, 1e400 = Infinity, negative, 0 pieces), Then 400 names the field and the batch stores nothing', async () => {
    const ok = { userId: 'u1', itemId: 'i1', quantity: 1, price: 2.5, ts: '2011-01-01T10:00:00Z' };
    const cases: [string, string][] = [
      [JSON.stringify({ events: [ok, { ...ok, itemId: 'i2', price: 1e308 }] }), 'body.events.1.price'],
      [`{"events":[{"userId":"u1","itemId":"i1","quantity":1,"price":1e400,"ts":"2011-01-01T10:00:00Z"}]}`, 'body.events.0.price'],
      [JSON.stringify({ events: [{ ...ok, price: -1 }] }), 'body.events.0.price'],
      [JSON.stringify({ events: [{ ...ok, quantity: 0 }] }), 'body.events.0.quantity'],
      [JSON.stringify({ events: [{ ...ok, quantity: 1e7 }] }), 'body.events.0.quantity'],
    ];
    for (const [body, field] of cases) {
      const res = await send('POST', '/v1/events', body);
      expect(res.statusCode, body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) });
    }
    expect(await purchaseCount()).toBe(0);

    const item = await send('PUT', '/v1/items/gold', { title: 'Gold', price: 1e308 });
    expect(item.statusCode).toBe(400);
    expect(item.json().error.message).toMatch(/^body\.price/);
    expect(await t.services.catalog.getItem('gold')).toBeNull();
  });

  it('When a body id holds a lone surrogate (JSON \\udc00), Then 400 names the field instead of storing U+FFFD, an id never sent', async () => {
    const ts = '2011-01-01T10:00:00Z';
    // Written as JSON text: JSON.stringify would escape it the same way, but the point is what a sender writes.
    const raw = `{"events":[{"userId":"\\udc00x","itemId":"i1","quantity":1,"ts":"${ts}"}]}`;
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: raw });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.message).toBe('body.events.0.userId: must be well-formed Unicode (a lone surrogate such as \\udc00 is not a character)');
    expect(await purchaseCount()).toBe(0);
    // A surrogate pair is one character (an emoji) and is fine.
    const pair = await send('POST', '/v1/recommendations', { items: ['i-\u{1F600}'] });
    expect(pair.statusCode, pair.body).toBe(200);
  });

  it('When an item title, description, category or attribute, or a feedback strategy, holds a NUL or a lone surrogate, Then 400 names the field and the item stored before is unchanged', async () => {
    const stored = await send('PUT', '/v1/items/kept', { title: 'Kept', description: 'As sent', categories: ['Kitchen'], attributes: { brand: 'Acme' } });
    expect(stored.statusCode, stored.body).toBe(200);
    const before = await t.services.catalog.getItem('kept');
    const lone = 'must be well-formed Unicode (a lone surrogate such as \\udc00 is not a character)';
    const nul = 'must not contain the NUL character (U+0000)';
    // Written as JSON text, as a sender writes it. Before, a lone surrogate was stored as U+FFFD with a
    // 200 (text never sent), and a NUL failed in Postgres with a 400 naming no field.
    const cases: [string, string, string][] = [
      ['{"title":"Mug \\udc00"}', 'body.title', lone],
      ['{"title":"Mug \\u0000"}', 'body.title', nul],
      ['{"title":"Mug","description":"\\ud800 big"}', 'body.description', lone],
      ['{"title":"Mug","description":"big\\u0000"}', 'body.description', nul],
      ['{"title":"Mug","categories":["Kitchen","\\ud83d"]}', 'body.categories.1', lone],
      ['{"title":"Mug","categories":["Kit\\u0000chen"]}', 'body.categories.0', nul],
      ['{"title":"Mug","attributes":{"brand":"\\udfff"}}', 'body.attributes.brand', lone],
      ['{"title":"Mug","attributes":{"colours":["red","\\u0000"]}}', 'body.attributes.colours', nul],
    ];
    for (const [payload, field, message] of cases) {
      const res = await t.app.inject({ method: 'PUT', url: '/v1/items/kept', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error.code, payload).toBe('VALIDATION_FAILED');
      expect(res.json().error.message, payload).toContain(field);
      expect(res.json().error.message, payload).toContain(message);
    }
    // An attribute's name, in a batch: the whole batch is refused.
    const batch = await t.app.inject({ method: 'POST', url: '/v1/items/batch', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: '{"items":[{"id":"new1","title":"New"},{"id":"kept","attributes":{"size\\udc00":"L"}}]}' });
    expect(batch.statusCode, batch.body).toBe(400);
    expect(batch.json().error.message).toBe(`body.items.1.attributes.size\udc00: the name: ${lone}`);
    expect(await t.services.catalog.getItem('new1')).toBeNull();
    expect(await t.services.catalog.getItem('kept')).toEqual(before);

    const feedback = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: '{"events":[{"userId":"u1","itemId":"kept","type":"click","strategy":"hybrid\\udc00","ts":"2011-01-01T10:00:00Z"}]}' });
    expect(feedback.statusCode, feedback.body).toBe(400);
    expect(feedback.json().error.message).toBe(`body.events.0.strategy: ${lone}`);

    // Characters outside the Basic Multilingual Plane (a surrogate pair) are text like any other.
    const emoji = await send('PUT', '/v1/items/kept', { title: 'Mug \u{1F375}', categories: ['Tea \u{1F375}'] });
    expect(emoji.statusCode, emoji.body).toBe(200);
    expect(await t.services.catalog.getItem('kept')).toMatchObject({ title: 'Mug \u{1F375}', categories: ['Tea \u{1F375}'] });
  });

  it('When a JSON body has a __proto__ key, Then 400 MALFORMED_JSON says that is why, not that the JSON is invalid', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: '{"items":[],"__proto__":{"x":1}}' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({ code: 'MALFORMED_JSON', message: 'The JSON body has a "__proto__" or "constructor.prototype" key, which is refused (prototype poisoning)' });
    const broken = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: '{"items":[' });
    expect(broken.json().error.code).toBe('MALFORMED_JSON');
    expect(broken.json().error.message).not.toMatch(/__proto__/);
  });

  it('When an id holds a NUL character (path, query, body, batch, feedback), Then 400 VALIDATION_FAILED names the field, not Postgres, and nothing is stored', async () => {
    const nul = 'a\u0000b';
    const ts = '2011-01-01T10:00:00Z';
    const ok = { userId: 'u1', itemId: 'i1', quantity: 1, ts };
    const cases: ['GET' | 'DELETE' | 'PUT' | 'POST', string, unknown, string][] = [
      ['GET', '/v1/users/a%00b/recommendations', undefined, 'params.id'],
      ['GET', '/v1/items/a%00b/similar', undefined, 'params.id'],
      ['GET', '/v1/items/a%00b/bought-together', undefined, 'params.id'],
      ['GET', '/v1/items/a%00b', undefined, 'params.id'],
      ['GET', '/v1/users/a%00b', undefined, 'params.id'],
      ['GET', '/v1/users/a%00b/events', undefined, 'params.id'],
      ['GET', '/v1/users/a%00b/profile', undefined, 'params.id'],
      ['DELETE', '/v1/users/a%00b', undefined, 'params.id'],
      ['PUT', '/v1/users/a%00b', { attributes: {} }, 'params.id'],
      ['PUT', '/v1/items/a%00b', { title: 'x' }, 'params.id'],
      ['GET', '/v1/popular?exclude=x,a%00b', undefined, 'querystring.exclude.1'],
      ['GET', '/v1/users?q=a%00b', undefined, 'querystring.q'],
      ['GET', '/v1/training-jobs?after=a%00b', undefined, 'querystring.after'],
      ['POST', '/v1/recommendations', { userId: nul }, 'body.userId'],
      ['POST', '/v1/recommendations', { items: ['i1', nul] }, 'body.items.1'],
      ['POST', '/v1/events', { events: [ok, { ...ok, itemId: nul }] }, 'body.events.1.itemId'],
      ['POST', '/v1/events', { events: [{ ...ok, orderId: nul }] }, 'body.events.0.orderId'],
      ['POST', '/v1/events', { events: [{ ...ok, eventId: nul }] }, 'body.events.0.eventId'],
      ['POST', '/v1/events', { events: [{ type: 'view', userId: nul, itemId: 'i1', ts }] }, 'body.events.0.userId'],
      ['POST', '/v1/items/batch', { items: [{ id: 'fine' }, { id: nul }] }, 'body.items.1.id'],
      ['POST', '/v1/feedback', { events: [{ userId: 'u1', itemId: 'i1', type: 'click', recommendationId: nul, ts }] }, 'body.events.0.recommendationId'],
      ['POST', '/v1/audiences', { itemIds: [nul] }, 'body.itemIds.0'],
    ];
    for (const [method, url, payload, field] of cases) {
      const res =
        payload === undefined ? await t.app.inject({ method, url, headers: auth('admin') }) : await send(method as 'PUT' | 'POST', url, payload);
      expect(res.statusCode, `${method} ${url} ${res.body}`).toBe(400);
      expect(res.json().error, `${method} ${url}`).toEqual({
        code: 'VALIDATION_FAILED',
        message: `${field}: must not contain the NUL character (U+0000)`,
        details: [{ path: field, message: 'must not contain the NUL character (U+0000)' }],
      });
    }
    expect(await purchaseCount()).toBe(0);
    expect(await t.services.catalog.getItem('fine')).toBeNull();
  });

  it('When a query parameter is given twice, Then 400 VALIDATION_FAILED names it and says it came more than once; a list (exclude) still takes repeats', async () => {
    const cases: [string, string, number][] = [
      ['/v1/popular?k=5&k=6', 'querystring.k', 2],
      ['/v1/popular?minPrice=1&minPrice=2&maxPrice=9', 'querystring.minPrice', 2],
      ['/v1/popular?windowDays=7&windowDays=30', 'querystring.windowDays', 2],
      ['/v1/users/u1/recommendations?diversity=0.1&diversity=0.2', 'querystring.diversity', 2],
      ['/v1/items/i1/similar?k=1&k=2&k=3', 'querystring.k', 3],
      ['/v1/users/u1/events?offset=0&offset=10', 'querystring.offset', 2],
      ['/v1/training-jobs?limit=1&limit=2', 'querystring.limit', 2],
      ['/v1/segments/champions/users?limit=1&limit=2', 'querystring.limit', 2],
      ['/v1/segments/lifecycle-history?months=1&months=2', 'querystring.months', 2],
      ['/v1/metrics/online?days=1&days=2', 'querystring.days', 2],
      ['/v1/evaluations/history?strategy=hybrid&k=5&k=10', 'querystring.k', 2],
      ['/v1/items/i1/audience?recentDays=1&recentDays=2', 'querystring.recentDays', 2],
      ['/v1/users/u1/recommendations?strategy=hybrid&strategy=als', 'querystring.strategy', 2],
      ['/v1/users/u1/recommendations?excludePurchased=true&excludePurchased=false', 'querystring.excludePurchased', 2],
      ['/v1/popular?category=a&category=b', 'querystring.category', 2],
      ['/v1/popular?attribute=country:France&attribute=country:Spain', 'querystring.attribute', 2],
      ['/v1/items/i1/similar?strategy=content&strategy=als', 'querystring.strategy', 2],
      ['/v1/items/i1/audience?includeRecentBuyers=1&includeRecentBuyers=0', 'querystring.includeRecentBuyers', 2],
      ['/v1/users?sort=id&sort=spend', 'querystring.sort', 2],
      ['/v1/users?q=a&q=b', 'querystring.q', 2],
      ['/v1/segments/champions/users?dimension=segment&dimension=lifecycle', 'querystring.dimension', 2],
      ['/v1/evaluations/history?strategy=hybrid&metric=ndcg&metric=recall', 'querystring.metric', 2],
      ['/v1/training-jobs?after=a&after=b', 'querystring.after', 2],
      ['/v1/items/i1/audience?segment=champions&segment=loyal', 'querystring.segment', 2],
    ];
    for (const [url, field, times] of cases) {
      const res = await t.app.inject({ url, headers: auth('admin') });
      expect(res.statusCode, `${url} ${res.body}`).toBe(400);
      expect(res.json().error, url).toMatchObject({ code: 'VALIDATION_FAILED', message: `${field}: given ${times} times; send it once` });
    }
    const excluded = await t.app.inject({ url: '/v1/popular?exclude=a&exclude=b&k=3', headers: auth('admin') });
    expect(excluded.statusCode, excluded.body).toBe(200);
  });

  it('When a numeric query parameter is empty or not plain decimal notation, Then 400 VALIDATION_FAILED says so instead of reading it as 0 or as hex', async () => {
    const cases: [string, string, RegExp][] = [
      // A template's unset price: read as 0, it emptied the list without a word.
      ['/v1/popular?k=5&maxPrice=', 'querystring.maxPrice', /empty/],
      ['/v1/popular?minPrice=%20', 'querystring.minPrice', /empty/],
      ['/v1/popular?diversity=', 'querystring.diversity', /empty/],
      ['/v1/popular?k=', 'querystring.k', /empty/],
      ['/v1/popular?windowDays=', 'querystring.windowDays', /empty/],
      ['/v1/popular?k=0x10', 'querystring.k', /"0x10" is not a number/],
      ['/v1/popular?k=1e2', 'querystring.k', /"1e2" is not a number/],
      ['/v1/popular?maxPrice=Infinity', 'querystring.maxPrice', /"Infinity" is not a number/],
      ['/v1/users/u1/events?offset=ten', 'querystring.offset', /"ten" is not a number/],
    ];
    for (const [url, field, message] of cases) {
      const res = await t.app.inject({ url, headers: auth('admin') });
      expect(res.statusCode, `${url} ${res.body}`).toBe(400);
      expect(res.json().error.code, url).toBe('VALIDATION_FAILED');
      expect(res.json().error.message, url).toMatch(new RegExp(`^${field.replace('.', '\\.')}: ${message.source}`));
    }
    // Plain decimals, signs (`+` in a query is a space: %2B), spaces around and a leading dot still read as before.
    for (const url of ['/v1/popular?k=%2B5&maxPrice=2.5', '/v1/popular?k=+5', '/v1/popular?k=05&minPrice=.5', '/v1/popular?diversity=0.&k=3']) {
      const res = await t.app.inject({ url, headers: auth('admin') });
      expect(res.statusCode, `${url} ${res.body}`).toBe(200);
    }
  });

  it('When the largest price and quantity allowed are stored and a model is trained, Then every read of that customer answers 200', async () => {
    await seedTwoShops(t.services);
    const big = await send('POST', '/v1/events', {
      events: [{ userId: 'g0-u0', itemId: 'g0-i1', quantity: 1_000_000, price: 1e9, orderId: 'whale', ts: '2011-03-01T10:00:00Z' }],
    });
    expect(big.statusCode).toBe(200);
    expect(big.json()).toMatchObject({ inserted: 1 });
    await t.services.trainer.train();
    for (const url of ['/v1/users/g0-u0/profile', '/v1/users/g0-u0/events', '/v1/users/g0-u0/recommendations', '/v1/items/g0-i1', '/v1/segments']) {
      const res = await t.app.inject({ url, headers: auth('admin') });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
    }
    const profile = (await t.app.inject({ url: '/v1/users/g0-u0/profile', headers: auth('admin') })).json();
    expect(Number.isFinite(profile.monetary)).toBe(true);
    expect(profile.monetary).toBeGreaterThan(1e14);
  }, 120_000);
});
