import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedTwoShops } from './purchase-fixture.js';

const train = (t: TestApp, payload?: object, headers: Record<string, string> = auth('admin')) =>
  t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers, ...(payload ? { payload } : {}) });

async function trainToEnd(t: TestApp, payload?: object) {
  const res = await train(t, payload);
  expect(res.statusCode).toBe(202);
  return finishedJob(t, `/v1/training-jobs/${res.json().jobId}`);
}

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`training and models API on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      // Imports may read DATA_DIR/imports only (IMPORT_ROOTS unset): the import test writes its file there.
      t = await createTestApp({ createDb: backend.create, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'training-api-')) } });
    });
    afterAll(() => t.dispose());

    it('When the data is too small, Then the training job fails saying so and nothing is published', async () => {
      await t.services.events.insertPurchases([
        { userId: 'lonely', itemId: 'a', quantity: 1, orderId: 'o1', ts: new Date('2011-01-01T10:00:00Z') },
        { userId: 'lonely', itemId: 'b', quantity: 1, orderId: 'o1', ts: new Date('2011-01-01T10:00:00Z') },
      ]);
      const job = await trainToEnd(t);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/not enough purchase data to train a model: 2 events \(need at least 10\), 1 users \(need at least 2\); nothing was published/);
      const models = await t.app.inject({ url: '/v1/models', headers: auth('admin') });
      expect(models.json()).toEqual({ active: null, versions: [], served: null, servedInStore: false });
      await t.services.eraseUser('lonely');
    });

    it('When a training succeeds, Then its version is listed active with the data counts, and a second training becomes the newer active one', async () => {
      await seedTwoShops(t.services);
      const first = await trainToEnd(t);
      expect(first).toMatchObject({ status: 'succeeded', progress: 1, error: null, params: { recipe: 'default' } });
      expect(first.result.version).toMatch(/^v\d{8}T\d{6}Z-[0-9a-f]{4}$/);
      // 12 users x 7 purchases in 3 orders each, over 10 items (the fixture's arithmetic).
      expect(first.result.data).toEqual({ events: 84, users: 12, items: 10, orders: 36, catalogItems: 12 });

      let models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
      expect(models.active).toBe(first.result.version);
      expect(models.versions).toHaveLength(1);
      expect(models.versions[0]).toMatchObject({ version: first.result.version, recipe: 'default', active: true });
      expect(models.versions[0].info.data.events).toBe(84);
      expect(Object.keys(models.versions[0].info.durations)).toEqual(expect.arrayContaining(['load', 'dataset', 'fit:als', 'fit:hybrid', 'serving', 'write']));

      // The first training tunes as a request without a body does; the default recipe's tuning skips this 18-day fixture
      // (three 30-day windows), so tuning again would only start its thread to find that out.
      const second = await trainToEnd(t, { recipe: 'default', tune: false });
      expect(second.status).toBe('succeeded');
      models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
      expect(models.active).toBe(second.result.version);
      expect(models.versions.map((v: { version: string }) => v.version)).toEqual([second.result.version, first.result.version]);
      expect(models.versions.map((v: { active: boolean }) => v.active)).toEqual([true, false]);

      const rollback = await t.app.inject({ method: 'POST', url: `/v1/models/${first.result.version}/activate`, headers: auth('admin') });
      expect(rollback.statusCode).toBe(200);
      expect(rollback.json().active).toMatchObject({ version: first.result.version, active: true });
      models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
      expect(models.active).toBe(first.result.version);
      // Still listed newest first: rollback changes what is served, not the history.
      expect(models.versions.map((v: { version: string }) => v.version)).toEqual([second.result.version, first.result.version]);

      const listed = (await t.app.inject({ url: '/v1/training-jobs', headers: auth('admin') })).json();
      expect(listed.jobs.slice(0, 2).map((j: { id: string }) => j.id)).toEqual([second.id, first.id]);
    });

    it('When a training window leaves only the first week, Then the model counts only its events', async () => {
      // Orders fall on days (o * 6 + u) from 2011-01-03: the first week holds every user's first order.
      // Untuned: tuning would skip this week of data (see above); the window is what is checked.
      const job = await trainToEnd(t, { from: '2011-01-03T00:00:00Z', to: '2011-01-09T00:00:00Z', tune: false });
      expect(job.status).toBe('succeeded');
      expect(job.result.data).toMatchObject({ events: 24, users: 12, orders: 12 });
      expect(job.params).toMatchObject({ from: '2011-01-03T00:00:00Z', to: '2011-01-09T00:00:00Z' });
    });

    it('When a training asks to tune, Then it tunes on its own data and the model shows the tuned recipe and validation', async () => {
      const job = await trainToEnd(t, { tune: { folds: 2, days: 4, variants: false } });
      expect(job.status).toBe('succeeded');
      expect(job.params).toMatchObject({ tune: { folds: 2, days: 4, variants: false } });
      expect(job.result.tuning.folds).toHaveLength(2);
      expect(job.result.durations.tune).toBeGreaterThan(0);
      const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
      const active = models.versions.find((v: { active: boolean }) => v.active);
      expect(active.version).toBe(job.result.version);
      expect(active.info.recipe.tune).toEqual({ folds: 2, days: 4, minCoverage: 0.3, maxCoverageCost: 0.1, variants: false, maxCustomers: 5_000 });
      expect(active.info.tuning.chosen).toBe(job.result.tuning.chosen);
    }, 120_000);

    it('When the request is wrong, Then it is refused with the catalogue error and no job is queued', async () => {
      const before = (await t.services.jobs.list({ type: 'train' })).length;
      const unknown = await train(t, { recipe: 'no-such-recipe' });
      expect(unknown.statusCode).toBe(422);
      expect(unknown.json().error).toMatchObject({ code: 'INVALID_RECIPE', message: expect.stringMatching(/unknown recipe "no-such-recipe"; recipes: .*default/) });
      const traversal = await train(t, { recipe: '../package' });
      expect(traversal.statusCode).toBe(422);
      expect(traversal.json().error.code).toBe('INVALID_RECIPE');
      const extra = await train(t, { recipe: 'default', colour: 'red' });
      expect(extra.statusCode).toBe(400);
      expect(extra.json().error.code).toBe('VALIDATION_FAILED');
      for (const tune of [{ folds: 0 }, 'yes', { folds: 2, window: 7 }, { maxPurchases: 0 }, { maxPurchases: 2.5 }, { maxPurchases: 'all' }, { keepRule: 'majority' }, { coverageFloor: 'none' }, { foldWeights: 'latest' }]) {
        const badTune = await train(t, { tune });
        expect(badTune.statusCode).toBe(400);
        expect(badTune.json().error.code).toBe('VALIDATION_FAILED');
        // The error names the bad field, so a caller can tell which rule was misspelt.
        for (const key of ['keepRule', 'coverageFloor', 'foldWeights']) if (typeof tune === 'object' && key in tune) expect(JSON.stringify(badTune.json().error)).toContain(key);
      }
      const backwards = await train(t, { from: '2011-02-01T00:00:00Z', to: '2011-01-01T00:00:00Z' });
      expect(backwards.statusCode).toBe(400);
      expect((await train(t, undefined, {})).statusCode).toBe(401);
      expect((await train(t, undefined, auth('write'))).statusCode).toBe(403);
      expect((await t.services.jobs.list({ type: 'train' })).length).toBe(before);
    });

    // As an evaluation's cutoff with no purchases on one side is: before, such a training was accepted (202)
    // and its job failed later for want of data.
    it('When the window from/to holds none of the stored purchases, Then the training is refused with a 422 naming the window and nothing is queued', async () => {
      const before = (await t.services.jobs.list({ type: 'train' })).length;
      // The purchases run from 2011-01-03 to 2011-01-20.
      for (const [window, path] of [
        [{ from: '2015-01-01T00:00:00Z', to: '2016-01-01T00:00:00Z' }, 'from'],
        [{ from: '2011-02-01T00:00:00Z' }, 'from'],
        [{ to: '2011-01-03T00:00:00Z' }, 'to'],
        // Inside the data, but in a gap of it: every purchase is made between 10:00 and 23:00.
        [{ from: '2011-01-05T00:00:00Z', to: '2011-01-05T01:00:00Z' }, 'from'],
      ] as const) {
        const res = await train(t, { ...window, tune: false });
        expect(res.statusCode, res.body).toBe(422);
        expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringContaining('no purchases'), details: [{ path }] });
      }
      expect((await t.services.jobs.list({ type: 'train' })).length).toBe(before);
    });

    it('When a job or version is unknown, Then the routes answer 404 in the error shape', async () => {
      const job = await t.app.inject({ url: '/v1/training-jobs/nope', headers: auth('admin') });
      expect(job.statusCode).toBe(404);
      expect(job.json().error.code).toBe('NOT_FOUND');
      const activate = await t.app.inject({ method: 'POST', url: '/v1/models/v20000101T000000Z-0000/activate', headers: auth('admin') });
      expect(activate.statusCode).toBe(404);
      expect(activate.json().error.code).toBe('NOT_FOUND');
      expect((await t.app.inject({ url: '/v1/models', headers: auth('write') })).statusCode).toBe(403);
    });

    it('When an Online Retail file on the server is imported as a job, Then its report shows accepted and rejected rows', async () => {
      const dir = path.join(t.config.DATA_DIR, 'imports');
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'retail.csv');
      writeFileSync(
        file,
        [
          'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
          '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom',
          '536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom',
          'C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,2010-12-01 09:41:00,1.65,14527,United Kingdom',
          '536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom',
        ].join('\n'),
      );
      const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: file } });
      expect(res.statusCode).toBe(202);
      expect(res.headers.location).toBe(`/v1/imports/${res.json().jobId}`);
      const job = await finishedJob(t, `/v1/imports/${res.json().jobId}`);
      expect(job).toMatchObject({ status: 'succeeded', type: 'import', progress: 1, params: { format: 'online-retail', path: file } });
      // The cancellation (C536379) is stored as a return: accepted and inserted with the two purchases.
      expect(job.result).toMatchObject({ rowsRead: 4, accepted: 3, inserted: 3, returns: 1 });
      // An import job is not a training job.
      expect((await t.app.inject({ url: `/v1/training-jobs/${job.id}`, headers: auth('admin') })).statusCode).toBe(404);

      const refused: [object, RegExp][] = [
        [{ format: 'online-retail', path: path.join(dir, 'missing.csv') }, /nothing readable at this path/],
        [{ format: 'online-retail', path: dir }, /online-retail format is a \.csv or \.csv\.gz file/],
        [{ format: 'online-retail', path: '/etc/passwd' }, /outside the directories imports may read/],
        [{ format: 'generic', path: file }, /generic format is a directory/],
      ];
      for (const [payload, message] of refused) {
        const bad = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload });
        expect(bad.statusCode, JSON.stringify(payload)).toBe(422);
        expect(bad.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message) });
      }
      const badFormat = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'xlsx', path: file } });
      expect(badFormat.statusCode).toBe(400);
      expect((await t.app.inject({ url: '/v1/imports/nope', headers: auth('admin') })).statusCode).toBe(404);
    });
  });

  describe.skipIf(!(await backend.available()))(`one training at a time on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      // No runner claims jobs here, so the first training stays queued for as long as the test needs.
      t = await createTestApp({ createDb: backend.create, env: { JOB_RUNNER: 'worker' } });
    });
    afterAll(() => t.dispose());

    it('When a training is queued and another is requested, Then the second gets 409 with the first job id', async () => {
      const first = await train(t, {});
      expect(first.statusCode).toBe(202);
      expect(first.json()).toEqual({ jobId: expect.any(String), status: 'queued' });
      const second = await train(t, { recipe: 'default' });
      expect(second.statusCode).toBe(409);
      expect(second.json()).toEqual({
        error: { code: 'JOB_ALREADY_RUNNING', message: expect.stringContaining(first.json().jobId), details: [{ jobId: first.json().jobId }] },
      });
    });

    it('When a separate worker runs, Then it claims the queued training and the API shows the result', async () => {
      await seedTwoShops(t.services);
      const [queued] = await t.services.jobs.list({ type: 'train' });
      expect(queued.status).toBe('queued');
      // What `npm run worker` builds: the same handlers, its own runner.
      const worker = createJobRunner({ ...t.services.jobRunnerOptions, mode: 'worker', pollMs: 20 });
      await worker.start();
      const job = await finishedJob(t, `/v1/training-jobs/${queued.id}`);
      await worker.stop();
      expect(job).toMatchObject({ status: 'succeeded', progress: 1, step: 'publish' });
      const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
      expect(models.active).toBe(job.result.version);
    });
  });
}
