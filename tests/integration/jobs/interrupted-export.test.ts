import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * An export whose process died mid-file leaves `<job>.<format>.part` with customers' rows: nothing would
 * finish it, and an erasure scrubs finished files only. Whoever declares the job interrupted deletes it.
 */
describe('an interrupted export', () => {
  let t: TestApp;
  const exportDir = mkdtempSync(path.join(tmpdir(), 'interrupted-export-'));
  beforeAll(async () => {
    // JOB_RUNNER=worker: the app's own runner claims nothing. An inline one (the default) polls every 5 s with the
    // real export handler and took the job whenever the holder below had not claimed it before its next poll (a
    // holder's start-up of a few seconds on a loaded machine): the holder then never wrote its part file.
    t = await createTestApp({ createDb, env: { EXPORT_DIR: exportDir, JOB_RUNNER: 'worker' } });
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(exportDir, { recursive: true, force: true });
  });

  it('When an export job is declared interrupted, Then its partial file is deleted, and nothing else in the directory', async () => {
    const job = await t.services.jobs.enqueue('export', { kind: 'recommendations', format: 'jsonl' });
    const part = path.join(exportDir, `${job.id}.jsonl.part`);
    const finished = path.join(exportDir, 'another-job.csv');
    const othersPart = path.join(exportDir, 'a-running-job.csv.part');
    writeFileSync(finished, 'user_id,item_id\n');
    writeFileSync(othersPart, 'user_id,item_id\n');
    // The holder writes part of the file, then goes silent (no heartbeat) as a killed process would.
    const holder = createJobRunner({
      ...t.services.jobRunnerOptions,
      mode: 'worker',
      pollMs: 20,
      heartbeatMs: 60_000,
      handlers: {
        export: async (_p, ctx) => {
          writeFileSync(part, '{"userId":"c1","itemId":"i1"}\n');
          // Until the sweep has done its work (the test's wait), then back to a runner that lost the job.
          for (let waited = 0; existsSync(part) && !ctx.signal.aborted && waited < 60_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
          return {};
        },
      },
    });
    // Another process's runner (with the app's cleanup) finds the heartbeat stale after 300 ms.
    const sweeper = createJobRunner({ ...t.services.jobRunnerOptions, handlers: {}, mode: 'worker', staleAfterMs: 300, sweepMs: 50, pollMs: 50 });
    await holder.start();
    // The holder is the only runner with an export handler: the claim is its, however long a loaded machine takes.
    for (let waited = 0; !existsSync(part) && waited < 30_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(part)).toBe(true);
    await sweeper.start();
    for (let waited = 0; existsSync(part) && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    await sweeper.stop();
    await holder.stop();
    expect(await t.services.jobs.get(job.id)).toMatchObject({ status: 'failed' });
    expect(existsSync(part)).toBe(false);
    expect(existsSync(finished)).toBe(true);
    expect(existsSync(othersPart)).toBe(true);
  }, 90_000);

  it("When the export directory cannot be cleaned on the sweeping host, Then an interrupted training's draft is still deleted", async () => {
    // A host whose EXPORT_DIR is not a directory (a misconfigured replica): removing part files fails.
    const notADir = path.join(exportDir, 'not-a-directory');
    writeFileSync(notADir, '');
    const other = await createTestApp({ createDb, env: { EXPORT_DIR: notADir } });
    try {
      await other.services.store.putArtifact('v-draft-of-interrupted', 'serving-items', new Uint8Array([1]));
      const job = (type: string, id: string, result: unknown = null) => ({ id, type, status: 'failed', params: {}, progress: 0, step: null, result, error: 'interrupted', workerId: null, createdAt: '', startedAt: null, finishedAt: null, heartbeatAt: null }) as const;
      const cleanUp = other.services.jobRunnerOptions.onInterrupted([job('export', 'e-1'), job('train', 't-1', { draftVersion: 'v-draft-of-interrupted' })]);
      await expect(cleanUp).rejects.toThrow(/ENOTDIR/);
      expect(await other.services.store.getArtifact('v-draft-of-interrupted', 'serving-items')).toBeNull();
    } finally {
      await other.dispose();
    }
  });
});
