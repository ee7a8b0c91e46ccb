/**
 * docs/import-formats.md: "A description over 10,000 characters is not refused: it is cut there ..., the product is
 * kept, and the report counts it under shortened". The record bound (RECORD_MAX_CHARS, csv-source.ts) assumes no
 * legitimate row is longer than about 112,000 characters, but a description has no upper length: a catalogue whose
 * descriptions are whole HTML pages has rows past the bound, and the import then fails at that row, every product
 * after it unimported, where it kept the product with its description cut.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import { ONE_DB_BACKEND, type TestDb } from '../../helpers/services.js';

const root = mkdtempSync(path.join(tmpdir(), 'import-long-description-'));

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`an items.csv with a description longer than the record bound, on ${backend.name}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await backend.create();
    });
    afterAll(async () => {
      await t.dispose();
      if (backend === ONE_DB_BACKEND.at(-1)) rmSync(root, { recursive: true, force: true });
    });

    it('When a product has a 1.5-million-character description (a whole HTML page), Then it is kept with its description cut and the products after it are imported', async () => {
      const dir = path.join(root, backend.name);
      mkdirSync(dir);
      // Words, so the cut falls at a space; quoted, as a description holding commas is.
      const description = 'lorem ipsum, dolor sit amet '.repeat(Math.ceil(1_500_000 / 28));
      writeFileSync(path.join(dir, 'items.csv'), ['id,title,description', `ld-long,Long,"${description}"`, 'ld-after,After,short'].join('\n') + '\n');
      const report = await runImport({ db: t.db }, { format: 'generic', path: dir });
      expect(report.shortened).toEqual({ 'items.description': 1 });
      const catalog = createCatalogRepository(t.db);
      const kept = await catalog.getItem('ld-long');
      expect(kept).toMatchObject({ title: 'Long' });
      expect(kept!.description!.length).toBeLessThanOrEqual(10_000);
      expect(await catalog.getItem('ld-after')).toMatchObject({ title: 'After' });
    });
  });
}
