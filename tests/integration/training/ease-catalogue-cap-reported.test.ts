import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/** Every value under the key `key`, anywhere in a JSON value. */
function valuesOf(json: unknown, key: string): unknown[] {
  if (Array.isArray(json)) return json.flatMap((v) => valuesOf(v, key));
  if (json === null || typeof json !== 'object') return [];
  return Object.entries(json).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOf(v, key)]);
}

/**
 * README ("Recipes live in models/*.json"): EASE's `maxItems` caps the catalogue it models, "a larger catalogue keeps
 * its most-bought items, the others score 0 from EASE, and the fitted model's `info.restrictedTo` says so". A grocery
 * walkthrough (25,000 products, 13,750 bought, default recipe: EASE on 2,000) found no `restrictedTo` in
 * `GET /v1/models` nor in the training's result: the only trace is inside the EASE artifact in the model store,
 * which no API reads out. The team cannot tell that 11,750 of its bought products score 0 from EASE (the CLI even
 * prints "13,750 bought, 25,000 in the model").
 *
 * A second walkthrough: the restriction counted the whole catalogue, never-bought products too, so it was claimed
 * whenever the catalogue exceeded maxItems even with every bought product modelled; what the team needs is how many
 * bought products EASE left out, so the restriction says `boughtItems` beside `catalogItems` and is claimed only then.
 */
describe('a data team reading how much of its catalogue EASE models', () => {
  let t: TestApp;
  const file = `walkthrough-ease-cap-${randomBytes(4).toString('hex')}`;
  const recipePath = path.join('models', `${file}.json`);
  const uncapped = `${file}-whole`;
  const uncappedPath = path.join('models', `${uncapped}.json`);

  beforeAll(async () => {
    t = await createTestApp({ createDb });
    // Ten products bought (two shops of five), EASE capped at three of them; and two catalogue products nobody
    // bought (a grocery's 25,000 products of which 13,750 were bought), so the catalogue (12) exceeds the bought (10).
    await seedTwoShops(t.services);
    await t.services.catalog.upsertItems([0, 1].map((i) => ({ id: `never-${i}`, title: `never bought ${i}`, categories: ['shelf'], price: 1 })));
    const raw = JSON.parse(await readFile('models/default.json', 'utf8'));
    raw.sources.ease.params.maxItems = 3;
    await writeFile(recipePath, JSON.stringify({ ...raw, name: file, tune: undefined }));
    // Exactly the ten bought products: nothing bought is left out, though the catalogue holds 12.
    raw.sources.ease.params.maxItems = 10;
    await writeFile(uncappedPath, JSON.stringify({ ...raw, name: uncapped, tune: undefined }));
  });
  afterAll(async () => {
    await rm(recipePath, { force: true });
    await rm(uncappedPath, { force: true });
    await t?.dispose();
  });

  it('When EASE is capped below the bought catalogue, Then GET /v1/models says how many items EASE modelled', async () => {
    const queued = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { recipe: file, tune: false } });
    expect(queued.statusCode, queued.body).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${queued.json().jobId}`, 120_000);
    expect(job.error).toBeNull();
    const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
    const version = models.versions.find((v: { version: string }) => v.version === job.result.version);
    expect(version).toBeDefined();
    // Ten products were bought; EASE kept three, as the README says the model's info tells.
    expect(version.info.data.items).toBe(10);
    expect(valuesOf(version.info, 'restrictedTo')).toContain(3);
    // Beside it, the bought products it chose among (7 of the 10 left out) and the catalogue's 12.
    expect(version.info.restrictions.ease).toEqual({ recommender: 'ease', restrictedTo: 3, boughtItems: 10, catalogItems: 12 });
    // The training's result (what `npm run train` prints from) says it too.
    expect(job.result.restrictions.ease).toEqual({ recommender: 'ease', restrictedTo: 3, boughtItems: 10, catalogItems: 12 });
  }, 180_000);

  it('When EASE models every bought product (the catalogue, with two never bought, exceeds maxItems), Then neither GET /v1/models nor the result claims a restriction', async () => {
    const queued = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { recipe: uncapped, tune: false } });
    expect(queued.statusCode, queued.body).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${queued.json().jobId}`, 120_000);
    expect(job.error).toBeNull();
    const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
    const version = models.versions.find((v: { version: string }) => v.version === job.result.version);
    expect(version.info.data.items).toBe(10);
    expect(version.info.data.catalogItems).toBe(12);
    expect(valuesOf(version.info, 'restrictedTo')).toEqual([]);
    expect(valuesOf(job.result, 'restrictedTo')).toEqual([]);
  }, 180_000);
});
