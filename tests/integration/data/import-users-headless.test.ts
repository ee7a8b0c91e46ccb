import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import { createPgliteTestDb, type TestDb } from '../../helpers/services.js';

/**
 * f4400c6 refuses a users.csv whose first line names id only as `ID`/`Id`, so that a file sent without its header
 * whose first customer is from Indonesia (country ID) is not read as a header. The case of the cell is no sign of a
 * header: a data value may be `id` in lower case as well (ISO 639-1 writes Indonesian `id`, as a language or
 * locale column holds it), and such a headless file is still read as a header whose id column is the language:
 * every row's language code stored as a customer, silently.
 */
describe('a users.csv sent without its header', () => {
  let t: TestDb;
  let root: string;
  beforeAll(async () => {
    t = await createPgliteTestDb();
    root = mkdtempSync(path.join(tmpdir(), 'users-headless-'));
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('When its first customer speaks Indonesian (language code id, lower case), Then that row is not read as a header: nothing is stored under the language codes', async () => {
    const dir = path.join(root, 'shop');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'users.csv'), ['hd-ann,id,wholesale', 'hd-bob,en,retail', 'hd-cy,fr,retail'].join('\n'));
    const outcome = await runImport({ db: t.db }, { format: 'generic', path: dir }).then(
      (report) => ({ accepted: report.accepted }),
      (err: unknown) => ({ refused: (err as { code?: string }).code }),
    );
    const stored = (await createCatalogRepository(t.db).getUsers(['en', 'fr'])).map((u) => u.id);
    expect(stored, `customers stored under language codes (${JSON.stringify(outcome)})`).toEqual([]);
    expect(outcome).toEqual({ refused: 'UNPROCESSABLE' });
  });
  // The other side of the trade: an SQL export writes unquoted names upper case (Oracle, DB2; SQL Server and MySQL as
  // the table was declared), and docs/import-formats.md says column names are matched without case. Whose ids are
  // unlike the cell ID (numbers here), the first line is a header by every sign the rows give.
  it('When an SQL export names its columns upper case (ID,COUNTRY,SEGMENT) above numeric ids, Then it is read as the header it is', async () => {
    const dir = path.join(root, 'sql-export');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'users.csv'), ['ID,COUNTRY,SEGMENT', '100231,FR,vip', '100232,ID,retail', '100233,DE,retail'].join('\n'));
    expect(await runImport({ db: t.db }, { format: 'generic', path: dir })).toMatchObject({ accepted: 3 });
    const [first] = await createCatalogRepository(t.db).getUsers(['100231']);
    expect(first.attributes).toEqual({ COUNTRY: 'FR', SEGMENT: 'vip' });
  });
  // 572b19d read a first line named as a header is (id first, other cells letters unlike most values below) as the header
  // even above ids shaped like its `id`: a headless file of initials whose first customer is `id` lost that customer, and
  // every other's attributes were named by its cells. Such a line cannot be told from a header: refused, nothing written;
  // a real header written `ID` above the lower-case ids imports.
  it('When a users.csv of two-letter ids is sent without its header and its first customer is id, Then it is refused and nothing is stored', async () => {
    const dir = path.join(root, 'initials-headless');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'users.csv'), ['id,Anna,Berlin', 'ab,Bertram,Hamburg', 'cd,Cy,Munich', 'ef,Dora,Kiel'].join('\n'));
    const outcome = await runImport({ db: t.db }, { format: 'generic', path: dir }).then(
      (report) => ({ accepted: report.accepted }),
      (err: unknown) => ({ refused: (err as { code?: string }).code, message: (err as Error).message }),
    );
    expect(await createCatalogRepository(t.db).getUsers(['ab', 'cd', 'ef'])).toEqual([]);
    expect(outcome).toMatchObject({ refused: 'UNPROCESSABLE', message: expect.stringMatching(/^users\.csv: its first line looks like a data row, not a header: its column 1, read as id/) });
    // A one-column file of such ids too.
    writeFileSync(path.join(dir, 'users.csv'), ['id', 'ab', 'cd'].join('\n'));
    await expect(runImport({ db: t.db }, { format: 'generic', path: dir })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    expect(await createCatalogRepository(t.db).getUsers(['ab', 'cd'])).toEqual([]);
  });

  it('When the header of a file of two-letter lower-case ids is written ID,country,segment, Then it is read as its header', async () => {
    const dir = path.join(root, 'initials');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'users.csv'), ['ID,country,segment', 'ab,fr,retail', 'cd,de,vip', 'ef,fr,retail'].join('\n'));
    expect(await runImport({ db: t.db }, { format: 'generic', path: dir })).toMatchObject({ accepted: 3, users: 3 });
    const users = await createCatalogRepository(t.db).getUsers(['ab', 'cd', 'ef']);
    expect(Object.fromEntries(users.map((u) => [u.id, u.attributes]))).toEqual({
      ab: { country: 'fr', segment: 'retail' },
      cd: { country: 'de', segment: 'vip' },
      ef: { country: 'fr', segment: 'retail' },
    });
  });
});
