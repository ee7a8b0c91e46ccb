import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/**
 * Every column of users.csv but `id` becomes an attribute of each customer, as items.csv's own columns do of each
 * product; the report listed items.csv's (attributeColumns) and not users.csv's, so what a users file stored, and
 * under which names (a `Segment ` the audiences will not find as `segment`), was nowhere to be read but the database.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the columns of users.csv stored as attributes', () => {
  let t: TestDb;
  let root: string;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    root = mkdtempSync(path.join(tmpdir(), 'users-attributes-'));
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('When users.csv has columns besides id, Then the report lists them by file, place and name, beside items.csv\'s', async () => {
    const dir = path.join(root, 'shop');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'items.csv'), 'id,title,brand\nua-mug,Mug,Acme\n');
    writeFileSync(path.join(dir, 'users.csv'), 'country,id,Segment,\nDE,ua-ann,vip,\n');
    const report = await runImport({ db: t.db }, { format: 'generic', path: dir });
    expect(report.attributeColumns).toEqual([
      { file: 'items.csv', column: 3, name: 'brand' },
      { file: 'users.csv', column: 1, name: 'country' },
      { file: 'users.csv', column: 3, name: 'Segment' },
    ]);
    // The unnamed column is stored nowhere, and listed as such.
    expect(report.ignoredColumns).toEqual([{ file: 'users.csv', column: 4, name: '' }]);
    expect((await createCatalogRepository(t.db).getUsers(['ua-ann']))[0].attributes).toEqual({ country: 'DE', Segment: 'vip' });
  });
});
