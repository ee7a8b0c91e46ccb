import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * A file's delimiter is told from its header line, and from its first rows when the header splits both ways. A `,`
 * file whose column name and every row's value of it hold more `;` than the line has `,` reads the same both ways
 * row by row: it is told `;`, its header lacks `id`, and there was no way to import it. The request names the
 * delimiter (`"delimiter": ","`), and the refusal says which to give.
 */
describe('an import job naming its delimiter', () => {
  let t: TestApp;
  let imports: string;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'import-delimiter-')) } });
    imports = path.join(t.config.DATA_DIR, 'imports');
    mkdirSync(imports, { recursive: true });
  });
  afterAll(() => t?.dispose());

  const shop = (files: Record<string, string>) => {
    const dir = mkdtempSync(path.join(imports, 'shop-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
  };
  const submit = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload });

  it('When the delimiter is told wrong, Then the 422 says which to give; given, the job imports the file with it', async () => {
    const dir = shop({ 'items.csv': 'id,title,size; colour; fit; care\ndg-m1,Shirt,L; red; slim; 30 C\ndg-m2,Trousers,M; blue; wide; 40 C\n' });
    const told = await submit({ format: 'generic', path: dir });
    expect(told.statusCode).toBe(422);
    expect(told.json().error.message).toMatch(/^items\.csv: missing column\(s\) id;.*Its fields were read as separated by ";" \(told from the file\); if they are separated by ",", give the delimiter: --delimiter "," for npm run import, "delimiter": "," in POST \/v1\/imports$/);
    const given = await submit({ format: 'generic', path: dir, delimiter: ',' });
    expect(given.statusCode, given.body).toBe(202);
    const job = await finishedJob(t, `/v1/imports/${given.json().jobId}`);
    expect(job).toMatchObject({ status: 'succeeded', result: { accepted: 2, rejected: {} } });
    const item = await t.app.inject({ url: '/v1/items/dg-m1', headers: auth('read') });
    expect(item.json()).toMatchObject({ attributes: { 'size; colour; fit; care': 'L; red; slim; 30 C' } });
  }, 60_000);

  it('When the delimiter given does not read the header, Then the 422 says what the header lacks, without advice to give it; an unknown one is a 400', async () => {
    const dir = shop({ 'events.csv': 'user_id,item_id,quantity,ts\ndg-u1,dg-m1,1,2024-01-01T00:00:00Z\n' });
    const wrong = await submit({ format: 'generic', path: dir, delimiter: ';' });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().error.message).toMatch(/^events\.csv: missing column\(s\) user_id, item_id, ts, quantity/);
    expect(wrong.json().error.message).not.toContain('give the delimiter');
    for (const delimiter of ['\t', 'comma', '', 59]) {
      const bad = await submit({ format: 'generic', path: dir, delimiter });
      expect(bad.statusCode, bad.body).toBe(400);
      expect(bad.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'body.delimiter' }] });
    }
  }, 60_000);
});
