import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { cleanUpInterruptedTrainings, createJobHandlers } from '../../../src/jobs/job-handlers.js';
import { createJobRepository, INTERRUPTED } from '../../../src/jobs/job-repository.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';
import { seedTwoShops } from './purchase-fixture.js';
import { STORE_BACKENDS, type TestStore } from './store-backends.js';

const [postgres] = DB_BACKENDS;
const redisStore = STORE_BACKENDS[1];
const available = (await postgres.available()) && (await redisStore.available());
const CHILD = fileURLToPath(new URL('./killable-training.ts', import.meta.url));
/**
 * How long the child may take to write its version: a Node start through tsx (it transforms the training's
 * module graph) and a training. The test's own limit is above this plus the training run here, so that a
 * child that never writes is reported by waitFor, with its output, and not by the test's default 30 s,
 * which a loaded machine (load 22, fifty-third session) reached before the child had started.
 */
const CHILD_MS = 60_000;

/** Resolves with the child's output once `marker` appears in it; rejects if the child exits first. */
function waitFor(child: ReturnType<typeof spawn>, marker: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${marker} within ${timeoutMs} ms: ${out}`)), timeoutMs);
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      if (out.includes(marker)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.stderr!.on('data', (chunk) => (out += String(chunk)));
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before ${marker}: ${out}`)));
  });
}

describe.skipIf(!available)('a training process killed mid-way (postgres, redis)', () => {
  let db: TestDb;
  let s: TestStore;
  beforeAll(async () => {
    db = await postgres.create();
    s = await redisStore.create();
  });
  afterAll(async () => {
    await s?.dispose();
    await db?.dispose();
  });

  it('When the worker is killed after writing and before publishing, Then the old version is still served and the next start fails the job and deletes the draft', async () => {
    const repos = { catalog: createCatalogRepository(db.db), events: createEventRepository(db.db) };
    await seedTwoShops(repos);
    const trainer = createTrainer({ ...repos, store: s.store, defaultRecipe: 'default', threads: 1 });
    const v1 = (await trainer.train()).version;
    const jobs = createJobRepository(db.db);
    const job = await jobs.enqueue('train', {}, { exclusiveKey: 'train' });

    const { rows } = await db.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, rows[0].schema, s.prefix!], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitFor(child, 'WRITTEN', CHILD_MS);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

    const orphan = (await jobs.get(job.id))!;
    expect(orphan).toMatchObject({ status: 'running', step: 'write' });
    expect(orphan.workerId).toContain(`:${child.pid}:`);
    const draft = (orphan.result as { draftVersion: string }).draftVersion;
    // The killed process wrote the whole version, but never published it: v1 is still served.
    expect(await s.store.getArtifact(draft, 'serving-items')).not.toBeNull();
    expect((await s.store.getActive())!.version).toBe(v1);
    expect((await s.store.listVersions()).map((m) => m.version)).toEqual([v1]);

    // The next runner to start on this host sees the holder's process is gone.
    const runner = createJobRunner({
      jobs,
      mode: 'worker',
      handlers: createJobHandlers({ db: db.db, trainer }),
      onInterrupted: (failed) => cleanUpInterruptedTrainings(s.store, failed),
    });
    await runner.start();
    await runner.stop();
    expect(await jobs.get(job.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
    expect(await s.store.getArtifact(draft, 'serving-items')).toBeNull();
    expect((await s.store.getActive())!.version).toBe(v1);
    // And a training can run again.
    const again = await jobs.enqueue('train', {}, { exclusiveKey: 'train' });
    expect(again.status).toBe('queued');
  }, CHILD_MS + 60_000);
});
