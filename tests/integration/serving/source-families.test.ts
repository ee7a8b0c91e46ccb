import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop, trainAndPublish } from './shop-fixture.js';

/**
 * A recipe names its sources freely; each one's family is its `recommender` (its own name by default).
 * Serving finds the neighbours it blends, lists and explains by family, not by name: SHOP_RECIPE with its
 * item-based sources renamed (same families, parameters and weights) must serve what SHOP_RECIPE serves,
 * the lists' `sources` naming the recipe's own names. Before, such a recipe silently lost live blending,
 * cart lists, similar items, bought-together, diversity re-ranking and their explanations.
 */
const FRONTEND = 'frontend-key-families-1';
const RENAMED: Record<string, string> = { 'item-knn': 'knn', cooccurrence: 'bought-with', content: 'text', als: 'tastes' };
const BACK = Object.fromEntries(Object.entries(RENAMED).map(([family, name]) => [name, family]));

type Recipe = typeof SHOP_RECIPE;
const renameKeys = (o: Record<string, number>, names: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [names[k] ?? k, v]));

/** `recipe` with its sources renamed by `names` (family -> name), each keeping its family as `recommender`. */
function renamed(recipe: Recipe, names: Record<string, string>, name: string) {
  const sources = Object.fromEntries(Object.entries(recipe.sources).map(([k, s]) => [names[k] ?? k, names[k] ? { recommender: k, ...s } : s]));
  const { cold, warm } = recipe.hybrid.weights;
  return { ...recipe, name, sources, hybrid: { ...recipe.hybrid, weights: { cold: renameKeys(cold, names), warm: renameKeys(warm, names) } } };
}

interface Answer {
  status: number;
  strategy?: string;
  fallback?: boolean;
  items?: { itemId: string; sources: string[]; explanation?: string }[];
  error?: unknown;
}

/** What a user sees of an answer (no ids or version), source names taken back to their families by `back`. */
function seen(statusCode: number, body: Record<string, unknown>, back: Record<string, string>): Answer {
  if (statusCode !== 200) return { status: statusCode, error: body.error };
  const name = (s: string) => back[s] ?? s;
  const items = (body.items as { itemId: string; score: number; sources: string[]; explanation?: string }[]).map((i) => ({
    itemId: i.itemId,
    score: i.score,
    sources: i.sources.map(name),
    explanation: i.explanation,
  }));
  return { status: statusCode, strategy: name(body.strategy as string), fallback: body.fallback as boolean, items };
}

const GETS = {
  // g-user0 bought k0 since training: neighbours of that purchase are blended in (live blending).
  liveUser: '/v1/users/g-user0/recommendations?k=8',
  liveUserDiverse: '/v1/users/g-user0/recommendations?k=8&diversity=0.6',
  // A customer the version does not know, whose purchase since training anchors a cold start.
  newCustomer: '/v1/users/newcomer/recommendations?k=6',
  similar: '/v1/items/g2/similar?k=6',
  similarKnn: '/v1/items/g2/similar?k=6&strategy=item-knn',
  similarContent: '/v1/items/k3/similar?k=6&strategy=content',
  similarCooccurrence: '/v1/items/g2/similar?k=6&strategy=cooccurrence',
  similarAls: '/v1/items/g2/similar?k=6&strategy=als',
  similarDiverse: '/v1/items/g2/similar?k=8&diversity=0.7',
  boughtTogether: '/v1/items/g2/bought-together?k=5',
  popularDiverse: '/v1/popular?k=8&diversity=0.7',
};
const CART = { items: ['g2', 'g3'], k: 8 };

/** Every answer of GETS and the cart list (POST /v1/recommendations) from the version serving now. */
async function answers(t: TestApp, back: Record<string, string> = {}): Promise<Record<string, Answer>> {
  const out: Record<string, Answer> = {};
  for (const [key, url] of Object.entries(GETS)) {
    const res = await t.app.inject({ url, headers: auth('read') });
    out[key] = seen(res.statusCode, res.json(), back);
  }
  const cart = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: CART });
  out.cart = seen(cart.statusCode, cart.json(), back);
  return out;
}

/** A second item-kNN source (other parameters). */
const OTHER_KNN = { recommender: 'item-knn', params: { shrink: 5, similarity: 'rp3beta' } };
const VERSIONS = {
  'v-family-names': SHOP_RECIPE,
  'v-renamed': renamed(SHOP_RECIPE, RENAMED, 'serving-test-renamed'),
  // After the renamed one in recipe order: the first of the family serves it.
  'v-two-knn-after': (() => {
    const r = renamed(SHOP_RECIPE, RENAMED, 'two-knn-after');
    return { ...r, sources: { ...r.sources, 'knn-b': OTHER_KNN } };
  })(),
  // Before the one named as the family: that one serves it (as it did in every version with one).
  'v-two-knn-named': { ...SHOP_RECIPE, name: 'two-knn-named', sources: { 'knn-b': OTHER_KNN, ...SHOP_RECIPE.sources } },
};

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a recipe whose item-based sources are not named as their families', () => {
  let t: TestApp;
  let byFamilyNames: Record<string, Answer>;
  /** The answers of `version`, made the active one. */
  const served = async (version: keyof typeof VERSIONS, back: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/models/${version}/activate`, headers: auth('admin') });
    expect(res.statusCode, res.body).toBe(200);
    return answers(t, back);
  };
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb, env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` } });
    await seedShop(t.services);
    await t.services.catalog.upsertUsers([{ id: 'newcomer', attributes: { country: 'UK' } }]);
    // Every version trained on the same purchases.
    for (const [version, recipe] of Object.entries(VERSIONS)) await trainAndPublish(t.services, version, recipe);
    // Purchases since training (after the shop's last order): they reach serving as live events.
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: {
        events: [
          { userId: 'g-user0', itemId: 'k0', quantity: 1, ts: '2024-03-10T10:00:00Z' },
          { userId: 'newcomer', itemId: 'g4', quantity: 1, ts: '2024-03-10T10:00:00Z' },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    byFamilyNames = await served('v-family-names');
  }, 120_000);
  afterAll(() => t?.dispose());

  it('Given the family-named recipe, Then every list is made of its neighbours (the comparison means something)', () => {
    for (const [key, a] of Object.entries(byFamilyNames)) {
      expect(a.status, key).toBe(200);
      expect(a.items!.length, key).toBeGreaterThan(0);
    }
    // The live purchase's neighbours (kitchen items) lead the garden customer's list.
    expect(byFamilyNames.liveUser.items![0].itemId).toMatch(/^k/);
    expect(byFamilyNames.cart.strategy).toBe('context');
    expect(byFamilyNames.newCustomer.strategy).toBe('context');
    expect(byFamilyNames.similar).toMatchObject({ strategy: 'item-knn', fallback: false });
    expect(byFamilyNames.boughtTogether).toMatchObject({ strategy: 'cooccurrence', fallback: false });
  });

  it('When its sources are renamed (same families), Then every list has the same items, explanations and scores, naming the new names', async () => {
    const byOtherNames = await served('v-renamed', BACK);
    for (const key of Object.keys(byFamilyNames)) expect.soft(byOtherNames[key], key).toEqual(byFamilyNames[key]);
    // Named as the recipe names them.
    const raw = await t.app.inject({ url: GETS.similar, headers: auth('read') });
    expect(raw.json()).toMatchObject({ strategy: 'knn', fallback: false });
    expect(raw.json().items[0].sources).toEqual(['knn']);
  });

  it('When its sources are renamed, Then a product\'s audience reaches the buyers of related products as before (the second tier reads neighbours by family)', async () => {
    // One candidate per customer: an audience of 40 needs the second tier (buyers of related products).
    const few = { ...SHOP_RECIPE, name: 'few-candidates', candidates: { perUser: 1 } };
    await trainAndPublish(t.services, 'v-few', few);
    await trainAndPublish(t.services, 'v-few-renamed', renamed(few, RENAMED, 'few-candidates-renamed'));
    const audience = async (version: string) => {
      expect((await t.app.inject({ method: 'POST', url: `/v1/models/${version}/activate`, headers: auth('admin') })).statusCode).toBe(200);
      const res = await t.app.inject({ url: '/v1/items/g2/audience?k=40&includeRecentBuyers=true', headers: auth('admin') });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json() as { users: { userId: string; tier: string; reason: string }[] }).users.map(({ userId, tier, reason }) => ({ userId, tier, reason }));
    };
    const byFamily = await audience('v-few');
    // The comparison means something: the family-named version's audience has related members.
    expect(byFamily.some((u) => u.tier === 'related')).toBe(true);
    expect(await audience('v-few-renamed')).toEqual(byFamily);
  });

  it('When a recipe has two sources of one family, Then one of them serves it, not both added up', async () => {
    const after = await served('v-two-knn-after', BACK);
    for (const key of ['cart', 'similar', 'newCustomer']) expect.soft(after[key], key).toEqual(byFamilyNames[key]);
    const named = await served('v-two-knn-named');
    for (const key of ['cart', 'similar', 'newCustomer']) expect.soft(named[key], key).toEqual(byFamilyNames[key]);
  });

  it("When similar items name the recipe's own source (strategy=knn, text, tastes, bought-with), Then that source's list answers, as its family's name does, to a read and a frontend key alike", async () => {
    const families: Record<string, [string, string]> = {
      'item-knn': ['similarKnn', 'g2'],
      content: ['similarContent', 'k3'],
      als: ['similarAls', 'g2'],
      cooccurrence: ['similarCooccurrence', 'g2'],
    };
    expect((await t.app.inject({ method: 'POST', url: '/v1/models/v-renamed/activate', headers: auth('admin') })).statusCode).toBe(200);
    for (const [family, [key, item]] of Object.entries(families)) {
      const name = RENAMED[family];
      for (const headers of [auth('read'), { authorization: `Bearer ${FRONTEND}` }]) {
        const res = await t.app.inject({ url: `/v1/items/${item}/similar?k=6&strategy=${name}`, headers });
        expect(res.statusCode, `${name}: ${res.body}`).toBe(200);
        expect(res.json()).toMatchObject({ strategy: name, fallback: false });
        expect(seen(res.statusCode, res.json(), BACK), name).toEqual(byFamilyNames[key]);
      }
    }
    // A name neither a family nor a source of the version: 400, naming what it offers, its own names too.
    const unknown = await t.app.inject({ url: '/v1/items/g2/similar?strategy=no-such-source', headers: auth('read') });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.strategy', message: expect.stringContaining('knn') }] });
  });

  it("When a replica cannot read the model store yet, Then similar items asked by the active recipe's own source name answer popularity as a fallback, not a 400 saying no model is active", async () => {
    expect((await t.app.inject({ method: 'POST', url: '/v1/models/v-renamed/activate', headers: auth('admin') })).statusCode).toBe(200);
    // A second process on the same database whose model store does not answer (Redis down as it starts):
    // a version is active, this process just holds none of it yet.
    const unreachable = new Proxy(t.services.store, {
      get: (store, key) => (key === 'getActive' ? () => Promise.reject(new Error('model store unreachable')) : Reflect.get(store, key)),
    });
    const replica = await createTestApp({
      createDb: async () => ({ db: t.services.db, dispose: async () => {} }),
      store: { ...unreachable, close: async () => {} } as typeof t.services.store,
      env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` },
    });
    try {
      // The storefront's request, valid for the active version (strategy=knn answers it on the first process).
      expect((await t.app.inject({ url: '/v1/items/g2/similar?k=6&strategy=knn', headers: { authorization: `Bearer ${FRONTEND}` } })).statusCode).toBe(200);
      const res = await replica.app.inject({ url: '/v1/items/g2/similar?k=6&strategy=knn', headers: { authorization: `Bearer ${FRONTEND}` } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ fallback: true });
    } finally {
      await replica.dispose();
    }
  });

  it("When a replica's store names the active version but its artifacts cannot be read, Then a source name gets popularity as a fallback; when the store answers that none is active, Then it is a 400", async () => {
    expect((await t.app.inject({ method: 'POST', url: '/v1/models/v-renamed/activate', headers: auth('admin') })).statusCode).toBe(200);
    const replicaOf = (override: Record<string, unknown>) => {
      const store = new Proxy(t.services.store, { get: (s, key) => (typeof key === 'string' && key in override ? override[key] : Reflect.get(s, key)) });
      return createTestApp({
        createDb: async () => ({ db: t.services.db, dispose: async () => {} }),
        store: { ...store, close: async () => {} } as typeof t.services.store,
        env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` },
      });
    };
    const ask = (app: TestApp['app']) => app.inject({ url: '/v1/items/g2/similar?k=6&strategy=knn', headers: { authorization: `Bearer ${FRONTEND}` } });
    // A version is active, this process cannot load it (its serving artifacts do not answer): it does not know
    // what the recipe names its sources, so the storefront's valid request is not refused.
    const unloadable = await replicaOf({ getArtifact: () => Promise.reject(new Error('artifact read failed')) });
    try {
      const res = await ask(unloadable.app);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ fallback: true });
    } finally {
      await unloadable.dispose();
    }
    // The store answers: no version is active. No recipe names a source then, and a name that is no family is a 400.
    const none = await replicaOf({ getActive: () => Promise.resolve(null) });
    try {
      const res = await ask(none.app);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('no model is active') });
    } finally {
      await none.dispose();
    }
  });

  it('When a recipe has two sources of one family, Then each answers similar items by its own name, and the family name asks the one that serves it', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/v1/models/v-two-knn-after/activate', headers: auth('admin') })).statusCode).toBe(200);
    const ask = async (strategy: string) => (await t.app.inject({ url: `/v1/items/g2/similar?k=6&strategy=${strategy}`, headers: { authorization: `Bearer ${FRONTEND}` } })).json();
    const second = await ask('knn-b');
    expect(second).toMatchObject({ strategy: 'knn-b', fallback: false });
    expect(second.items[0].sources[0]).toBe('knn-b');
    expect(await ask('item-knn')).toMatchObject({ strategy: 'knn', fallback: false });
  });
});
