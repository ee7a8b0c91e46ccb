import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, listedItemIds, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop } from './shop-fixture.js';

/**
 * Popularity counted by Postgres (`GET /v1/popular?windowDays=...`, and every list before the first
 * training) keeps its ranked lists for a minute. README: "catalog changes (`PUT /v1/items`, an items
 * import) reach serving within about 2 s", and availability "follows the catalog at once": a product taken
 * off sale must leave these lists as it leaves the model's, not a minute later.
 */
const backend = DB_BACKENDS[0];

/** Waits past the documented "about 2 s" for a catalog change to reach serving. */
const pastCatalogRefresh = () => new Promise((r) => setTimeout(r, 2500));

describe.skipIf(!(await backend.available()))('popularity counted by Postgres after a catalog change', () => {
  let t: TestApp;
  const put = async (id: string, body: object) => {
    const res = await t.app.inject({ method: 'PUT', url: `/v1/items/${id}`, headers: auth('write'), payload: body });
    expect(res.statusCode, res.body).toBe(200);
  };
  beforeAll(async () => {
    t = await createTestApp({ createDb: backend.create });
    await seedShop(t.services);
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When no model is trained yet and a listed product is taken off sale, Then customers\' lists stop offering it within the refresh time', async () => {
    const before = await listedItemIds(t, '/v1/users/g-user0/recommendations?k=30');
    expect(before).toContain('k3');
    await put('k3', { title: 'glass kitchen vase', categories: ['kitchen', 'glass'], price: 63, available: false });
    await pastCatalogRefresh();
    expect(await listedItemIds(t, '/v1/users/g-user0/recommendations?k=30')).not.toContain('k3');
    expect(await listedItemIds(t, '/v1/popular?k=30')).not.toContain('k3');
  });

  it('When a model is active and a product in a windowed popular list is taken off sale, Then the windowed list stops offering it within the refresh time', async () => {
    await t.services.trainer.train({ tune: false });
    const url = '/v1/popular?k=30&windowDays=365';
    expect(await listedItemIds(t, url)).toContain('g1');
    // The model's own popularity drops it at once (catalog overlay): the windowed list must too.
    await put('g1', { title: 'wooden garden rake', categories: ['garden', 'tools'], price: 5, available: false });
    await pastCatalogRefresh();
    expect(await listedItemIds(t, '/v1/popular?k=30')).not.toContain('g1');
    expect(await listedItemIds(t, url)).not.toContain('g1');
  }, 60_000);
});
