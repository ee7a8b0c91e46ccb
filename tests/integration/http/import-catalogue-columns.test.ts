import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * A grocery team's walkthrough: its items.csv named the product names and aisles `product_name` and `aisle`;
 * the import stored them as attributes of 25,000 products without a title and said nothing. An import of such
 * a catalogue is refused as one of a purchases file without its columns is (a 422 at submission naming the
 * columns expected), and leaves what is stored as it was.
 */
describe('an import job of a catalogue file without its title and category columns', () => {
  let t: TestApp;
  let imports: string;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'import-catalogue-')) } });
    imports = path.join(t.config.DATA_DIR, 'imports');
    mkdirSync(imports, { recursive: true });
  });
  afterAll(() => t?.dispose());

  const submit = (files: Record<string, string>) => {
    const dir = mkdtempSync(path.join(imports, 'shop-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: dir } });
  };
  const importJob = async (files: Record<string, string>) => {
    const res = await submit(files);
    expect(res.statusCode, res.body).toBe(202);
    return finishedJob(t, `/v1/imports/${res.json().jobId}`);
  };

  it('When items.csv has product_name and aisle columns, Then the import is refused naming the expected columns, and the titles stored stay', async () => {
    const first = await importJob({ 'items.csv': 'id,title,categories\ncat-milk,Whole milk,dairy\n' });
    expect(first.status).toBe('succeeded');
    const res = await submit({
      'items.csv': 'id,product_name,aisle\ncat-milk,Whole milk 1L,dairy\ncat-eggs,Eggs,dairy\n',
      'events.csv': 'user_id,item_id,quantity,ts\ncat-u1,cat-eggs,1,2024-01-01T00:00:00Z\n',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^items\.csv: none of the columns title, description, categories/) });
    const milk = await t.app.inject({ url: '/v1/items/cat-milk', headers: auth('read') });
    expect(milk.json()).toMatchObject({ title: 'Whole milk', categories: ['dairy'] });
    expect((await t.app.inject({ url: '/v1/items/cat-eggs', headers: auth('read') })).statusCode).toBe(404);
  }, 60_000);

  it('When events.csv names its price unit_price, Then the job succeeds and its result names the ignored column and the price it likely is', async () => {
    const job = await importJob({ 'events.csv': 'user_id,item_id,quantity,unit_price,ts\ncat-u2,cat-milk,1,1.2,2024-01-02T00:00:00Z\n' });
    expect(job.status).toBe('succeeded');
    expect(job.result).toMatchObject({ accepted: 1, ignoredColumns: [{ file: 'events.csv', column: 4, name: 'unit_price', meant: 'price' }] });
  }, 60_000);
});
