import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { DAY, SHOP_RECIPE, seedShop, T0 } from '../serving/shop-fixture.js';

/**
 * Two customers whose ids differ by a leading apostrophe: `=vip` (written to a CSV export as `'=vip`, the
 * formula escape of csv-formulas.ts) and `'=vip` (written as `''=vip`). Erasing `'=vip` must remove only
 * their rows from the export files, never those of `=vip`.
 */
describe('erasure and the export files of other customers', () => {
  let t: TestApp;
  let recipesDir: string;
  let exportDir: string;
  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'erasure-export-recipes-'));
    exportDir = await mkdtemp(join(tmpdir(), 'erasure-export-files-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: exportDir } });
    await seedShop(t.services);
    const purchases = ['=vip', "'=vip"].flatMap((userId, j) => [
      { userId, itemId: 'g1', quantity: 1, price: null, orderId: `${userId}-o1`, ts: new Date(T0 + (20 + j) * DAY) },
      { userId, itemId: 'g2', quantity: 1, price: null, orderId: `${userId}-o1`, ts: new Date(T0 + (20 + j) * DAY) },
    ]);
    await t.services.events.insertPurchases(purchases);
    await createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, erasures: t.services.erasure,
    }).train();
    await t.services.serving.refresh();
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await rm(recipesDir, { recursive: true, force: true });
    await rm(exportDir, { recursive: true, force: true });
  });

  it("When customer \"'=vip\" is erased, Then the CSV export keeps the rows of customer \"=vip\"", async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv' } });
    expect(start.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/exports/${start.json().jobId}`);
    expect(job.status).toBe('succeeded');
    const file = join(exportDir, `${start.json().jobId}.csv`);
    const usersIn = async () => (parse(await readFile(file)) as string[][]).slice(1).map((r) => r[1]);
    // As written: each id formula-escaped (a leading apostrophe).
    expect(await usersIn()).toContain("'=vip");
    expect(await usersIn()).toContain("''=vip");
    const rowsOfVip = (await usersIn()).filter((u) => u === "'=vip").length;
    expect(rowsOfVip).toBeGreaterThan(0);

    const erased = await t.app.inject({ method: 'DELETE', url: `/v1/users/${encodeURIComponent("'=vip")}`, headers: auth('admin') });
    expect(erased.statusCode).toBe(204);

    // The erased customer's rows are gone...
    expect(await usersIn()).not.toContain("''=vip");
    // ...and those of the other customer, "=vip", who was not erased, are all still there.
    expect((await usersIn()).filter((u) => u === "'=vip").length).toBe(rowsOfVip);
    expect((await t.app.inject({ url: `/v1/users/${encodeURIComponent('=vip')}/events`, headers: auth('read') })).statusCode).toBe(200);
  });
});
