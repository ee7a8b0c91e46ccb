/**
 * 34e6dae records the roots an import job is held to in its params (`roots`). During a rolling upgrade a
 * replica (or `npm run worker`) still on the release before claims jobs from the same queue: its handlers read
 * the params with z.strictObject schemas that do not know `roots`, so a job queued through a new replica and
 * claimed by an older one fails at once ("Unrecognized key: roots") instead of importing.
 *
 * The older release's schemas are reproduced here as src/jobs/job-handlers.ts had them at 34e6dae^.
 */
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATE_ORDERS, type DateOrder } from '../../../src/data/importers/field-parsers.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../../src/data/importers/run-import.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, ONE_DB_BACKEND } from '../../helpers/services.js';

/** importJobParams and factorImportJobParams of the release before (job-handlers.ts at 34e6dae^). */
const olderImportJobParams = z.strictObject({
  format: z.enum(IMPORT_FORMATS as [ImportFormat, ...ImportFormat[]]),
  path: z.string().min(1),
  dateOrder: z.enum(DATE_ORDERS as [DateOrder, ...DateOrder[]]).optional(),
});
const olderFactorImportJobParams = z.strictObject({
  path: z.string().min(1),
  recipe: z.string().optional(),
  source: z.string().optional(),
});

describe('import jobs queued by this release and claimed by a replica of the release before (rolling upgrade)', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'import-root-upgrade-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root } });
  }, 60_000);
  afterAll(() => t?.dispose());

  const paramsOf = async (jobId: string) => (await t.services.db.query<{ params: unknown }>('SELECT params FROM jobs WHERE id = $1', [jobId])).rows[0].params;

  it('When a generic import is queued through the API, Then the params it stores are read by the older release\'s handler', async () => {
    const dir = path.join(root, 'generic');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'items.csv'), 'id,title\nupgrade-item,x\n');
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: dir } });
    expect(res.statusCode, res.body).toBe(202);
    const parsed = olderImportJobParams.safeParse(await paramsOf(res.json().jobId));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('When a factor import is queued through the API, Then the params it stores are read by the older release\'s handler', async () => {
    const dir = path.join(root, 'factors');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'item_factors.csv'), 'id,features\n1,"[0.1,0.2]"\n');
    const res = await t.app.inject({ method: 'POST', url: '/v1/factor-imports', headers: auth('admin'), payload: { path: dir } });
    expect(res.statusCode, res.body).toBe(202);
    const parsed = olderFactorImportJobParams.safeParse(await paramsOf(res.json().jobId));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});

/**
 * The roots travel beside the params (the jobs table's import_roots column, which the release before never reads):
 * this release still holds a job queued through its API to them, and runs a job queued as the release before queues
 * it (no roots recorded) as that release ran it.
 */
for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`import jobs and their roots across releases (${backend.name})`, () => {
    let t: TestApp;
    let root: string;
    let outside: string;
    beforeAll(async () => {
      root = mkdtempSync(path.join(tmpdir(), 'import-root-upgrade-'));
      outside = mkdtempSync(path.join(tmpdir(), 'not-an-import-root-upgrade-'));
      t = await createTestApp({ createDb: backend.create, env: { IMPORT_ROOTS: root } });
    }, 60_000);
    afterAll(() => t?.dispose());

    /** A directory under the roots whose items.csv is a link to a file outside them, holding item `id`. */
    function linkedOut(name: string, id: string): string {
      writeFileSync(path.join(outside, `${name}.csv`), `id,title\n${id},x\n`);
      const dir = path.join(root, name);
      mkdirSync(dir);
      symlinkSync(path.join(outside, `${name}.csv`), path.join(dir, 'items.csv'));
      return dir;
    }

    it('When an import is queued through the API, Then its roots are kept beside the params, unshown, and the job is held to them', async () => {
      // A link out of the roots is refused at submission now (the header check opens the file), so the
      // roots kept for the job are checked on a file the submission accepts...
      const kept = path.join(root, 'kept-roots');
      mkdirSync(kept);
      writeFileSync(path.join(kept, 'items.csv'), 'id,title\nkept-item,x\n');
      const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: kept } });
      expect(res.statusCode, res.body).toBe(202);
      expect((await t.services.jobs.get(res.json().jobId))?.importRoots).toEqual([realpathSync(root)]);
      const done = await finishedJob(t, `/v1/imports/${res.json().jobId}`);
      expect(done.status, done.error).toBe('succeeded');
      expect(done).not.toHaveProperty('importRoots');
      expect(done.params).not.toHaveProperty('roots');
      // ...and a job queued with them (as this release queues one whose file becomes a link out afterwards)
      // is held to them when it runs.
      const dir = linkedOut('queued-here', 'held-item');
      const refused = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: dir } });
      expect(refused.statusCode).toBe(422);
      const queued = await t.services.jobs.enqueue('import', { format: 'generic', path: realpathSync(dir) }, { importRoots: [realpathSync(root)] });
      t.services.jobRunner?.kick();
      const job = await finishedJob(t, `/v1/imports/${queued.id}`);
      expect(job.status).toBe('failed');
      expect(job.error).toContain('leads outside the directories imports may read (IMPORT_ROOTS)');
      expect((await t.app.inject({ url: '/v1/items/held-item', headers: auth('admin') })).statusCode).toBe(404);
    });

    it('When an import was queued by a replica of the release before (no roots kept), Then this release runs it as that release did', async () => {
      const dir = linkedOut('queued-there', 'older-item');
      // What the release before inserts: its params, no import_roots (the column is not in its INSERT).
      const queued = await t.services.jobs.enqueue('import', { format: 'generic', path: realpathSync(dir) });
      expect(queued.importRoots).toBeUndefined();
      t.services.jobRunner?.kick();
      const job = await finishedJob(t, `/v1/imports/${queued.id}`);
      expect(job.status, job.error).toBe('succeeded');
      expect((await t.app.inject({ url: '/v1/items/older-item', headers: auth('admin') })).statusCode).toBe(200);
    });
  });
}
