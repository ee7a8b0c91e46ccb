/**
 * IMPORT_ROOTS bounds what POST /v1/imports may read, "links are resolved first" (README): a link inside a
 * root that leads out of it does not count. A generic import names a directory, and the importer reads the
 * items.csv, users.csv and events.csv inside it: a link there that leads outside the roots must not be read
 * either, or the directory check is only a check of the directory's name. Read, such a file is stored (its
 * rows imported) or, when it is not a CSV of the format, its first line is quoted in the job's error, which
 * the API shows: any file the service's user can read, a line at a time. A factor import (POST
 * /v1/factor-imports) checks and reads its directory the same way.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../../src/data/importers/run-import.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

describe('a generic import whose files are links out of IMPORT_ROOTS', () => {
  let t: TestApp;
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'import-root-'));
    outside = mkdtempSync(path.join(tmpdir(), 'not-an-import-root-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root } });
  }, 60_000);
  afterAll(() => t?.dispose());

  const submit = (dir: string) => t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: dir } });

  /** Everything the API says about the import: the submission's answer and, when a job was queued, the job. */
  async function whatTheApiSays(dir: string): Promise<string> {
    const res = await submit(dir);
    if (res.statusCode !== 202) return res.body;
    const job = await finishedJob(t, `/v1/imports/${res.json().jobId}`);
    return `${res.body}\n${JSON.stringify(job)}`;
  }

  it('When items.csv is a link to a CSV outside the roots, Then none of its rows is imported', async () => {
    writeFileSync(path.join(outside, 'catalogue.csv'), 'id,title\nfrom-outside,a row of a file outside IMPORT_ROOTS\n');
    const dir = path.join(root, 'linked-items');
    mkdirSync(dir);
    symlinkSync(path.join(outside, 'catalogue.csv'), path.join(dir, 'items.csv'));

    await whatTheApiSays(dir);

    const item = await t.app.inject({ url: '/v1/items/from-outside', headers: auth('admin') });
    expect(item.statusCode).toBe(404);
  });

  it('When items.csv is a link to some other file outside the roots, Then nothing of its content comes back in an answer', async () => {
    writeFileSync(path.join(outside, 'secrets.txt'), 'db_password=hunter2-do-not-show\n');
    const dir = path.join(root, 'linked-secret');
    mkdirSync(dir);
    symlinkSync(path.join(outside, 'secrets.txt'), path.join(dir, 'items.csv'));

    expect(await whatTheApiSays(dir)).not.toContain('hunter2');
  });

  it('When a factor import\'s item_factors.csv is a link outside the roots, Then nothing of its content comes back in an answer', async () => {
    // POST /v1/factor-imports checks its directory against IMPORT_ROOTS the same way, then reads the files in it.
    writeFileSync(path.join(outside, 'other.txt'), 'row,api_token=s3cr3t-do-not-show\n');
    const dir = path.join(root, 'linked-factors');
    mkdirSync(dir);
    symlinkSync(path.join(outside, 'other.txt'), path.join(dir, 'item_factors.csv'));
    const res = await t.app.inject({ method: 'POST', url: '/v1/factor-imports', headers: auth('admin'), payload: { path: dir } });
    const said = res.statusCode === 202 ? `${res.body}\n${JSON.stringify(await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`))}` : res.body;
    expect(said).not.toContain('s3cr3t');
  });

  it('When items.csv is a link outside the roots, Then the import is refused naming the file and IMPORT_ROOTS', async () => {
    writeFileSync(path.join(outside, 'named.csv'), 'id,title\nnamed-outside,x\n');
    const dir = path.join(root, 'linked-named');
    mkdirSync(dir);
    symlinkSync(path.join(outside, 'named.csv'), path.join(dir, 'items.csv'));
    // Its header is read when the import is submitted, within the roots: the link is refused then (422, no job).
    const res = await submit(dir);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toContain(`${path.join(dir, 'items.csv')} leads outside the directories imports may read (IMPORT_ROOTS)`);
    expect(res.body).not.toContain(outside);
  });

  it('When items.csv is a link to a file elsewhere inside the roots, Then it is imported as before', async () => {
    mkdirSync(path.join(root, 'kept'));
    writeFileSync(path.join(root, 'kept', 'catalogue.csv'), 'id,title\nfrom-inside,a row of a file inside IMPORT_ROOTS\n');
    const dir = path.join(root, 'linked-inside');
    mkdirSync(dir);
    symlinkSync(path.join(root, 'kept', 'catalogue.csv'), path.join(dir, 'items.csv'));
    const res = await submit(dir);
    expect((await finishedJob(t, `/v1/imports/${res.json().jobId}`)).status).toBe('succeeded');
    expect((await t.app.inject({ url: '/v1/items/from-inside', headers: auth('admin') })).statusCode).toBe(200);
  });

  it("When a factor import's part directory item_factors/ is a link outside the roots, Then its part files are neither read nor named", async () => {
    const parts = path.join(outside, 'spark-out');
    mkdirSync(parts);
    writeFileSync(path.join(parts, 'part-00000-secret-name.csv'), 'row,api_token=s3cr3t-part\n');
    const dir = path.join(root, 'linked-parts');
    mkdirSync(dir);
    symlinkSync(parts, path.join(dir, 'item_factors'));
    const res = await t.app.inject({ method: 'POST', url: '/v1/factor-imports', headers: auth('admin'), payload: { path: dir } });
    const said = res.statusCode === 202 ? `${res.body}\n${JSON.stringify(await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`))}` : res.body;
    expect(said).toContain('leads outside the directories imports may read (IMPORT_ROOTS)');
    expect(said).not.toMatch(/s3cr3t|secret-name/);
  });

  it('When an online-retail file checked at submission is a link out of the roots by the time it is read, Then it is refused unread', async () => {
    // The submission resolves the file's path; a job reads it later, when the name may lead elsewhere.
    writeFileSync(path.join(outside, 'retail.csv'), 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n');
    const file = path.join(root, 'swapped.csv');
    symlinkSync(path.join(outside, 'retail.csv'), file);
    await expect(runImport({ db: t.services.db }, { format: 'online-retail', path: file, roots: [root] })).rejects.toThrow(`${file} leads outside the directories imports may read`);
  });
});
