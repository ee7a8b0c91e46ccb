import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

// Reviewer R4: a wide export (2,000 columns the format does not know, one named with 100,000 characters):
// ignoredColumns lists each with its whole name, so the job's result (stored, listed by GET /v1/imports) and the CLI
// line grow with the padding, and an unknown column's name is quoted whatever its length.
describe('ignoredColumns of a padded events.csv', () => {
  let t: TestApp;
  let imports: string;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'import-r4-')) } });
    imports = path.join(t.config.DATA_DIR, 'imports');
    mkdirSync(imports, { recursive: true });
  });
  afterAll(() => t?.dispose());

  it('stays a short list however many or long-named unknown columns the header has', async () => {
    const extra = Array.from({ length: 2_000 }, (_, k) => `,extra${k}`).join('');
    const pad = ','.repeat(2_000);
    const dir = mkdtempSync(path.join(imports, 'shop-'));
    writeFileSync(path.join(dir, 'events.csv'), `user_id,item_id,quantity,ts,${'n'.repeat(100_000)}${extra}\nr4-u,r4-i,1,2024-01-02T00:00:00Z${pad}\n`);
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: dir } });
    expect(res.statusCode, res.body).toBe(202);
    const job = await finishedJob(t, `/v1/imports/${res.json().jobId}`);
    expect(job.status, String(job.error)).toBe('succeeded');
    const ignored = (job.result as { ignoredColumns: unknown[] }).ignoredColumns;
    console.log('ignoredColumns entries', ignored.length, 'result JSON bytes', JSON.stringify(job.result).length);
    expect(ignored.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(job.result).length).toBeLessThan(20_000);
  }, 120_000);
});
