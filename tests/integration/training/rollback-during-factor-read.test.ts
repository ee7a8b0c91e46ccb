import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../../src/jobs/job-repository.js';
import type { JobContext } from '../../../src/jobs/job-runner.js';
import { createJobHandlers } from '../../../src/jobs/job-handlers.js';
import { JOB_TYPES } from '../../../src/jobs/job-types.js';
import type { TrainResult } from '../../../src/training/train-model.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/** Customer u bought items u and u+3 (mod 8) in two orders (the factor fixture's shop). */
async function seedShop(t: TestApp) {
  await t.services.catalog.upsertItems(Array.from({ length: 9 }, (_, i) => ({ id: `f-i${i}`, title: `thing ${i}`, categories: ['things'], price: 1 + i })));
  await t.services.catalog.upsertUsers(Array.from({ length: 7 }, (_, u) => ({ id: `f-u${u}`, attributes: {} })));
  await t.services.events.insertPurchases(
    Array.from({ length: 7 }, (_, u) =>
      [u % 8, (u + 3) % 8].map((i, o) => ({ userId: `f-u${u}`, itemId: `f-i${i}`, quantity: 1, orderId: `f-u${u}-o${o}`, ts: new Date(Date.UTC(2011, 0, 3 + o * 7 + u)) })),
    ).flat(),
  );
}

/**
 * README ("How it works"): "A rollback made while a training runs stands (at any step, loading and tuning
 * included: the training notes the active version before it reads any data)"; docs/factor-import.md: a factor
 * import "is a training". A factor import's first step, `read` (the factor files: Parquet or CSV of every
 * customer's and item's factors, the longest read of the job on a big shop), runs before the trainer notes the
 * active version, so a rollback made while the job shows `read` is undone by the import's publish.
 */
describe('a rollback made while a factor import reads its factor files', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'factor-rollback-'));
    t = await createTestApp({ createDb, env: { IMPORT_ROOTS: root } });
    await seedShop(t);
  });
  afterAll(() => t.dispose());

  const train = async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
    expect(res.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 120_000);
    expect(job.status).toBe('succeeded');
    return job.result.version as string;
  };

  it('When the operator rolls back while the job is at its read step, Then the rollback stands: the import publishes its version without activating it', async () => {
    const good = await train();
    const bad = await train();
    expect((await t.services.store.getActive())?.version).toBe(bad);

    const dir = mkdtempSync(path.join(root, 'spark-'));
    cpSync('tests/fixtures/factors/spark', dir, { recursive: true });
    // The job as the runner gives it: while it reports its `read` step, the operator rolls back to the good version.
    let rolledBack = false;
    const ctx: JobContext = {
      job: { id: randomUUID(), type: JOB_TYPES.factorImport } as JobRecord,
      signal: new AbortController().signal,
      async progress(_fraction, step) {
        if (step === 'read' && !rolledBack) {
          rolledBack = true;
          const res = await t.app.inject({ method: 'POST', url: `/v1/models/${good}/activate`, headers: auth('admin') });
          expect(res.statusCode).toBe(200);
        }
      },
      async note() {},
    };
    const handler = t.services.jobRunnerOptions.handlers[JOB_TYPES.factorImport];
    const result = (await handler({ path: dir, recipe: 'default' }, ctx)) as TrainResult;
    expect(rolledBack).toBe(true);

    // What the README promises for a rollback during any step of a training.
    expect((await t.services.store.getActive())?.version).toBe(good);
    expect(result.activated).toBe(false);
    expect((await t.services.store.listVersions()).map((m) => m.version)).toContain(result.version);
  });
});

/** The same for a training job: its handler cleans up abandoned drafts (beforeTraining) before the trainer starts. */
describe('a rollback made while a training job cleans up abandoned drafts', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb });
    await seedShop(t);
  });
  afterAll(() => t.dispose());

  it('When the operator rolls back during the cleanup before the training, Then the rollback stands', async () => {
    const train = async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
      const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 120_000);
      expect(job.status).toBe('succeeded');
      return job.result.version as string;
    };
    const good = await train();
    await train();
    const handlers = createJobHandlers({
      db: t.services.db,
      trainer: t.services.trainer,
      beforeTraining: async () => {
        const res = await t.app.inject({ method: 'POST', url: `/v1/models/${good}/activate`, headers: auth('admin') });
        expect(res.statusCode).toBe(200);
      },
    });
    const ctx: JobContext = {
      job: { id: randomUUID(), type: JOB_TYPES.train } as JobRecord,
      signal: new AbortController().signal,
      async progress() {},
      async note() {},
    };
    const result = (await handlers[JOB_TYPES.train]!({ tune: false }, ctx)) as TrainResult;

    expect((await t.services.store.getActive())?.version).toBe(good);
    expect(result.activated).toBe(false);
  });
});
