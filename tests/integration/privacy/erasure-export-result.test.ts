import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';

/**
 * README "Campaign exports": GET /v1/exports/:id shows the result (customers, rows, bytes) of the file
 * GET /v1/exports/:id/file streams. An export that runs during an erasure counts what its scrub removed
 * (run-export.ts); an erasure after it rewrites the file without the customer's rows (README "Erasure"),
 * and the export's result must then describe that file, not the one with the erased customer in it.
 */
describe('erasure and the result of a finished export', () => {
  let t: TestApp;
  let recipesDir: string;
  let exportDir: string;
  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'erasure-export-result-recipes-'));
    exportDir = await mkdtemp(join(tmpdir(), 'erasure-export-result-files-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: exportDir } });
    await seedShop(t.services);
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

  it('When a customer of a finished export is erased, Then the export\'s result counts the file as it now is', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv' } });
    expect(start.statusCode).toBe(202);
    const id = start.json().jobId as string;
    expect((await finishedJob(t, `/v1/exports/${id}`)).status).toBe('succeeded');
    const file = join(exportDir, `${id}.csv`);
    const rowsOf = async () => (parse(await readFile(file)) as string[][]).slice(1);
    expect((await rowsOf()).some((r) => r[1] === 'g-user3')).toBe(true);

    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') })).statusCode).toBe(204);

    const rows = await rowsOf();
    expect(rows.some((r) => r[1] === 'g-user3')).toBe(false);
    const job = (await t.app.inject({ url: `/v1/exports/${id}`, headers: auth('admin') })).json();
    expect(job.result).toMatchObject({ rows: rows.length, customers: new Set(rows.map((r) => r[1])).size, bytes: (await stat(file)).size });
  });

  it('When a member of a finished audience export is erased, Then the members after them are ranked again without a gap, and the result counts the file as it now is', async () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'audience', itemIds: ['g4', 'g5'], k: 30, includeRecentBuyers: true, format } });
      expect(start.statusCode).toBe(202);
      const id = start.json().jobId as string;
      expect((await finishedJob(t, `/v1/exports/${id}`)).status).toBe('succeeded');
      const file = join(exportDir, `${id}.${format}`);
      const membersOf = async (): Promise<{ rank: number; userId: string }[]> => {
        const text = await readFile(file, 'utf8');
        if (format === 'jsonl') return text.trimEnd().split('\n').map((l) => JSON.parse(l) as { rank: number; userId: string });
        return (parse(text, { columns: true }) as Record<string, string>[]).map((r) => ({ rank: Number(r.rank), userId: r.userId }));
      };
      const before = await membersOf();
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(before.map((m) => m.rank)).toEqual(before.map((_, n) => n + 1));
      // A member in the middle: those after them move up one place.
      const erased = before[1].userId;

      expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${erased}`, headers: auth('admin') })).statusCode).toBe(204);

      const after = await membersOf();
      expect(after.map((m) => m.userId)).toEqual(before.map((m) => m.userId).filter((u) => u !== erased));
      expect(after.map((m) => m.rank)).toEqual(after.map((_, n) => n + 1));
      const job = (await t.app.inject({ url: `/v1/exports/${id}`, headers: auth('admin') })).json();
      expect(job.result).toMatchObject({ rows: after.length, customers: after.length, bytes: (await stat(file)).size });
    }
  });
});
