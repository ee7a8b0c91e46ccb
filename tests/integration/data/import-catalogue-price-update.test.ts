import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import { AppError } from '../../../src/errors.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

/**
 * A shop's nightly price and stock file (`id,price,available`) has no attribute column: it is refused (a generic
 * row describes a product whole, so it would blank the stored titles). The refusal must not tell the team to
 * "add an empty title column": done, that blanks every stored title, the very loss the refusal prevents.
 */
const backend = DB_BACKENDS.find((b) => b.name === 'postgres') ?? DB_BACKENDS[0];
describe.skipIf(!(await backend.available()))('a price and availability update as items.csv', () => {
  let t: TestDb;
  const root = mkdtempSync(path.join(tmpdir(), 'import-price-update-'));
  const directory = (name: string, items: string) => {
    const dir = mkdtempSync(path.join(root, `${name}-`));
    writeFileSync(path.join(dir, 'items.csv'), items);
    return dir;
  };
  beforeAll(async () => {
    t = await backend.create();
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('When it is refused, Then following the refusal keeps the stored titles', async () => {
    await runImport({ db: t.db }, { format: 'generic', path: directory('full', 'id,title,categories,price\npu-milk,Whole milk,dairy,1.2\n') });
    const failure = (await runImport({ db: t.db }, { format: 'generic', path: directory('prices', 'id,price,available\npu-milk,1.5,true\n') }).catch((e: unknown) => e)) as AppError;
    expect(failure).toBeInstanceOf(AppError);
    // The file has no column that would become an attribute: "its 0 other columns would be stored as attributes" is not what happens.
    expect(failure.message).not.toMatch(/its 0 other columns/);
    // What the message tells the team to do.
    if (/add an empty title column/.test(failure.message)) {
      await runImport({ db: t.db }, { format: 'generic', path: directory('advised', 'id,title,price,available\npu-milk,,1.5,true\n') });
    }
    const [milk] = await createCatalogRepository(t.db).getItems(['pu-milk']);
    expect(milk.title).toBe('Whole milk');
  });
});
