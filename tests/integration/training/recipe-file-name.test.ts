import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedTwoShops } from './purchase-fixture.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * A recipe is a file, models/FILE.json, that may call itself otherwise (`"name": "shop-v2"`). Trainings and
 * factor imports name the file; the job must train that file (its params used to hold the recipe's own name,
 * so models/shop.json named "shop-v2" failed as an unknown recipe, and a copy keeping "name": "default"
 * trained models/default.json), and the version records the file (`recipeFile`) beside the name, so the
 * dashboard can evaluate the recipe the served model was trained from.
 */
describe('a recipe file whose recipe calls itself otherwise', () => {
  let t: TestApp;
  let root: string;
  const file = `audit-shop-${randomBytes(4).toString('hex')}`;
  const recipePath = path.join('models', `${file}.json`);

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'recipe-file-'));
    t = await createTestApp({ createDb, env: { IMPORT_ROOTS: root } });
    await seedTwoShops(t.services);
    // The factor fixture's items and customers (tests/fixtures/factors: f-i0..f-i8, f-u0..f-u6), as factor-import-api.test.ts seeds them.
    await t.services.catalog.upsertItems(Array.from({ length: 9 }, (_, i) => ({ id: `f-i${i}`, title: `thing ${i}`, categories: ['things'], price: 1 + i })));
    await t.services.events.insertPurchases(
      Array.from({ length: 7 }, (_, u) =>
        [u % 8, (u + 3) % 8].map((i, o) => ({ userId: `f-u${u}`, itemId: `f-i${i}`, quantity: 1, orderId: `f-u${u}-o${o}`, ts: new Date(Date.UTC(2011, 0, 3 + o * 7 + u)) })),
      ).flat(),
    );
    const raw = JSON.parse(await readFile('models/default.json', 'utf8'));
    await writeFile(recipePath, JSON.stringify({ ...raw, name: 'shop-v2', tune: undefined }));
  });
  afterAll(async () => {
    await rm(recipePath, { force: true });
    await t?.dispose();
  });

  async function expectRecorded(version: string) {
    const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
    expect(models.versions.find((v: { version: string }) => v.version === version)).toMatchObject({ recipe: 'shop-v2', recipeFile: file });
    // The overview names the served model's file once this process serves the version.
    for (let tries = 0; tries < 200; tries++) {
      const overview = (await t.app.inject({ url: '/v1/overview', headers: auth('admin') })).json();
      if (overview.model?.version === version) {
        expect(overview.model).toMatchObject({ recipe: 'shop-v2', recipeFile: file });
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`version ${version} is not served`);
  }

  it('When a training job names the file, Then it trains that file and the version records it beside the recipe\'s name', async () => {
    const queued = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { recipe: file, tune: false } });
    expect(queued.statusCode, queued.body).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${queued.json().jobId}`);
    expect(job.error).toBeNull();
    expect(job.params.recipe).toBe(file);
    expect(job.result).toMatchObject({ recipe: 'shop-v2', recipeFile: file });
    await expectRecorded(job.result.version);
  });

  it('When a factor import names the file, Then it trains that file and the version records it', async () => {
    const dir = mkdtempSync(path.join(root, 'implicit-'));
    cpSync('tests/fixtures/factors/implicit', dir, { recursive: true });
    const queued = await t.app.inject({ method: 'POST', url: '/v1/factor-imports', headers: auth('admin'), payload: { path: dir, recipe: file } });
    expect(queued.statusCode, queued.body).toBe(202);
    const job = await finishedJob(t, `/v1/factor-imports/${queued.json().jobId}`);
    expect(job.error).toBeNull();
    expect(job.params.recipe).toBe(file);
    expect(job.result).toMatchObject({ recipe: 'shop-v2', recipeFile: file });
    await expectRecorded(job.result.version);
  });
});
