import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_SAMPLE_PATH } from '../../../src/data/importers/run-import.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

describe('imports restricted to IMPORT_ROOTS', () => {
  let t: TestApp;
  beforeAll(async () => {
    // JOB_RUNNER=worker: the accepted job stays queued, nothing is imported during the test.
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: path.dirname(BUNDLED_SAMPLE_PATH), JOB_RUNNER: 'worker' } });
  });
  afterAll(() => t.dispose());

  const submit = (file: string) =>
    t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: file } });

  it('When the file is outside the allowed directories, Then 422 names the path and no job is queued', async () => {
    const res = await submit('/etc/passwd.csv');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toMatch(/outside the directories imports may read/);
    // It says where a file may be put instead.
    expect(res.json().error.message).toContain(`(IMPORT_ROOTS: ${path.dirname(BUNDLED_SAMPLE_PATH)})`);
    expect((await t.services.db.query("SELECT 1 FROM jobs WHERE type = 'import'")).rows).toHaveLength(0);
  });

  it('When the file is inside them, Then the import is accepted as a job', async () => {
    const res = await submit(BUNDLED_SAMPLE_PATH);
    expect(res.statusCode).toBe(202);
    expect(res.json().jobId).toEqual(expect.any(String));
  });

  it('When an Online Retail import names its date order, Then the job carries it; on a generic import it is refused with 400', async () => {
    const post = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload });
    const res = await post({ format: 'online-retail', path: BUNDLED_SAMPLE_PATH, dateOrder: 'dmy' });
    expect(res.statusCode).toBe(202);
    const { rows } = await t.services.db.query<{ params: { dateOrder?: string } }>('SELECT params FROM jobs WHERE id = $1', [res.json().jobId]);
    expect(rows[0].params.dateOrder).toBe('dmy');
    expect((await post({ format: 'online-retail', path: BUNDLED_SAMPLE_PATH, dateOrder: 'ymd' })).statusCode).toBe(400);
    const generic = await post({ format: 'generic', path: path.dirname(BUNDLED_SAMPLE_PATH), dateOrder: 'dmy' });
    expect(generic.statusCode).toBe(400);
    expect(generic.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('online-retail format only') });
  });

  it('When a link inside an allowed directory points outside it, Then 422 (links are resolved before the check)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'import-root-'));
    symlinkSync('/etc/hostname', path.join(root, 'outside.csv'));
    const linked = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root, JOB_RUNNER: 'worker' } });
    try {
      const res = await linked.app.inject({
        method: 'POST',
        url: '/v1/imports',
        headers: auth('admin'),
        payload: { format: 'online-retail', path: path.join(root, 'outside.csv') },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.message).toMatch(/outside the directories/);
    } finally {
      await linked.dispose();
    }
  });
});

describe('imports without IMPORT_ROOTS', () => {
  it('When IMPORT_ROOTS is unset, Then only files under DATA_DIR/imports may be imported', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'import-default-'));
    const t = await createTestApp({ createDb: createPgliteTestDb, env: { DATA_DIR: dataDir, JOB_RUNNER: 'worker' } });
    try {
      expect(t.config.IMPORT_ROOTS).toEqual([path.join(dataDir, 'imports')]);
      const submit = (file: string) =>
        t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: file } });
      const outside = await submit(BUNDLED_SAMPLE_PATH);
      expect(outside.statusCode).toBe(422);
      expect(outside.json().error.message).toMatch(/outside the directories imports may read/);
      mkdirSync(path.join(dataDir, 'imports'));
      copyFileSync(BUNDLED_SAMPLE_PATH, path.join(dataDir, 'imports', 'sample.csv.gz'));
      expect((await submit(path.join(dataDir, 'imports', 'sample.csv.gz'))).statusCode).toBe(202);
    } finally {
      await t.dispose();
    }
  });
});
