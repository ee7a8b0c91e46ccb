import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_SAMPLE_PATH } from '../../../src/data/importers/run-import.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`job lists on ${backend.name}`, () => {
    let t: TestApp;
    const submitted: string[] = [];
    beforeAll(async () => {
      // JOB_RUNNER=worker: accepted jobs stay queued, so the lists hold exactly what the test submitted.
      t = await createTestApp({ createDb: backend.create, env: { IMPORT_ROOTS: path.dirname(BUNDLED_SAMPLE_PATH), JOB_RUNNER: 'worker' } });
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: BUNDLED_SAMPLE_PATH } });
        expect(res.statusCode).toBe(202);
        submitted.push(res.json().jobId);
      }
    });
    afterAll(() => t.dispose());

    const list = (url: string, scope: 'admin' | 'write' = 'admin') => t.app.inject({ url, headers: auth(scope) });

    it('When imports are listed a page at a time, Then they come newest first with their paging, each once', async () => {
      const newestFirst = [...submitted].reverse();
      const first = await list('/v1/imports?limit=2');
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ limit: 2, offset: 0 });
      expect(first.json().jobs.map((j: { id: string }) => j.id)).toEqual(newestFirst.slice(0, 2));
      expect(first.json().jobs[0]).toMatchObject({ type: 'import', status: 'queued', params: { format: 'online-retail' } });
      expect(first.json().jobs[0]).not.toHaveProperty('workerId');
      const rest = (await list('/v1/imports?limit=2&offset=2')).json();
      expect(rest.jobs.map((j: { id: string }) => j.id)).toEqual(newestFirst.slice(2));
      expect((await list('/v1/imports')).json()).toMatchObject({ limit: 20, offset: 0, jobs: expect.any(Array) });
    });

    it('When every type has a job, Then each list holds exactly the jobs of its own type', async () => {
      // Queued straight in the jobs table: what is listed is the subject here, not what submitting checks.
      const own: Record<string, string[]> = { '/v1/imports': submitted };
      for (const [url, type] of [['/v1/training-jobs', 'train'], ['/v1/exports', 'export'], ['/v1/factor-imports', 'factor-import'], ['/v1/evaluations', 'evaluate']]) {
        own[url] = [(await t.services.jobs.enqueue(type, {})).id];
      }
      for (const url of ['/v1/training-jobs', '/v1/exports', '/v1/factor-imports', '/v1/imports']) {
        const res = await list(url);
        expect(res.statusCode, url).toBe(200);
        expect(res.json().jobs.map((j: { id: string }) => j.id).sort(), url).toEqual([...own[url]].sort());
      }
    });

    it('When jobs arrive between two pages, Then paging by `after` lists every job once where `offset` repeats one', async () => {
      const ids = (res: { json(): { jobs: { id: string }[] } }) => res.json().jobs.map((j) => j.id);
      const all = ids(await list('/v1/imports?limit=100'));
      expect(all.length).toBeGreaterThanOrEqual(3);
      const first = (await list('/v1/imports?limit=2')).json();
      expect(first.next).toBe(all[1]);
      const arrived = (await t.services.jobs.enqueue('import', {})).id;
      const byCursor = await list(`/v1/imports?limit=100&after=${first.next}`);
      expect(byCursor.statusCode).toBe(200);
      expect(byCursor.json()).toMatchObject({ after: first.next, next: null });
      expect(ids(byCursor)).toEqual(all.slice(2));
      // The same page by offset: the job that arrived pushed the first page's last job onto it.
      expect(ids(await list('/v1/imports?limit=100&offset=2'))).toEqual(all.slice(1));
      expect(ids(await list('/v1/imports?limit=1'))).toEqual([arrived]);
      // `after` and `offset` together: skip after the cursor.
      expect(ids(await list(`/v1/imports?limit=1&offset=1&after=${all[0]}`))).toEqual([all[2]]);
    });

    it('When a job list is paged by `cursor`, Then it pages as by `after`, and every page answers `nextCursor` equal to `next`', async () => {
      // As GET /v1/users and the other keyset lists page: `cursor` in, `nextCursor` out (the same values as after/next).
      const ids = (body: { jobs: { id: string }[] }) => body.jobs.map((j) => j.id);
      const all = ids((await list('/v1/imports?limit=100')).json());
      expect(all.length).toBeGreaterThanOrEqual(3);
      const first = (await list('/v1/imports?limit=2')).json();
      expect(first).toMatchObject({ next: all[1], nextCursor: all[1] });
      const second = await list(`/v1/imports?limit=100&cursor=${first.nextCursor}`);
      expect(second.statusCode, second.body).toBe(200);
      expect(second.json()).toMatchObject({ cursor: all[1], next: null, nextCursor: null });
      expect(ids(second.json())).toEqual(all.slice(2));
      for (const url of ['/v1/training-jobs', '/v1/exports', '/v1/factor-imports', '/v1/imports']) {
        const body = (await list(`${url}?limit=1`)).json();
        expect(body, url).toHaveProperty('nextCursor');
        expect(body.nextCursor, url).toBe(body.next);
      }
      // A cursor naming no job of the list is refused as `after` is, naming `cursor`; both at once are refused.
      const unknown = await list('/v1/imports?cursor=no-such-job');
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.cursor' }] });
      const both = await list(`/v1/imports?after=${all[0]}&cursor=${all[0]}`);
      expect(both.statusCode).toBe(400);
      expect(both.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'querystring.cursor' })] });
      // As on the keyset lists, `cursor` with `offset` (even 0) is refused; `after` with `offset` still skips after it.
      for (const offset of [0, 1]) {
        const mixed = await list(`/v1/imports?cursor=${all[0]}&offset=${offset}`);
        expect(mixed.statusCode, mixed.body).toBe(400);
        expect(mixed.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'querystring.offset' })] });
      }
      const evaluations = await list('/v1/evaluations?cursor=x&offset=0');
      expect(evaluations.statusCode, evaluations.body).toBe(400);
      expect(evaluations.json().error).toMatchObject({ details: [expect.objectContaining({ path: 'querystring.offset' })] });
      const plain = (await list('/v1/imports?limit=1')).json();
      expect(plain.offset).toBe(0);
    });

    it('When `after` names no job of the list, Then 400 in the error shape, naming the parameter', async () => {
      const train = (await t.services.jobs.enqueue('train', {})).id;
      for (const after of ['no-such-job', train]) {
        const res = await list(`/v1/imports?after=${after}`);
        expect(res.statusCode, after).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'querystring.after' }] });
      }
      // In its own list, the same id is a cursor: the jobs before it.
      const trainings = (await list('/v1/training-jobs')).json().jobs.map((j: { id: string }) => j.id);
      expect(trainings[0]).toBe(train);
      expect((await list(`/v1/training-jobs?after=${train}`)).json().jobs.map((j: { id: string }) => j.id)).toEqual(trainings.slice(1));
    });

    it('When the paging is out of range or the key is not admin, Then 400 or 403 in the error shape', async () => {
      for (const query of ['limit=0', 'limit=101', 'offset=-1', 'limit=two', 'page=2', 'after=', `after=${'x'.repeat(129)}`]) {
        const res = await list(`/v1/training-jobs?${query}`);
        expect(res.statusCode, query).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
      }
      expect((await list('/v1/imports', 'write')).statusCode).toBe(403);
    });
  });
}
