import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { createJobRepository, INTERRUPTED, type JobRepository } from '../../../src/jobs/job-repository.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`job repository on ${backend.name}`, () => {
    let t: TestDb;
    let jobs: JobRepository;
    beforeAll(async () => {
      t = await backend.create();
      jobs = createJobRepository(t.db);
    });
    afterAll(() => t.dispose());

    it('When a job is enqueued, claimed, progressed and succeeded, Then each state reads back', async () => {
      const queued = await jobs.enqueue('lifecycle', { recipe: 'x' });
      expect(queued).toMatchObject({ status: 'queued', progress: 0, params: { recipe: 'x' }, startedAt: null });
      const claimed = await jobs.claimNext(['lifecycle'], 'w1');
      expect(claimed).toMatchObject({ id: queued.id, status: 'running', workerId: 'w1' });
      expect(claimed!.startedAt).not.toBeNull();
      expect(await jobs.progress(queued.id, 'w1', 0.25, 'fit:als')).toBe(true);
      expect(await jobs.get(queued.id)).toMatchObject({ progress: 0.25, step: 'fit:als' });
      // Another worker cannot write to a job it does not hold.
      expect(await jobs.progress(queued.id, 'w2', 0.9)).toBe(false);
      expect(await jobs.succeed(queued.id, 'w1', { version: 'v1' })).toBe(true);
      const done = await jobs.get(queued.id);
      expect(done).toMatchObject({ status: 'succeeded', progress: 1, result: { version: 'v1' }, error: null });
      expect(done!.finishedAt).not.toBeNull();
      // A finished job is not the worker's any more.
      expect(await jobs.fail(queued.id, 'w1', 'late')).toBe(false);
      expect(await jobs.get('no-such-job')).toBeNull();
    });

    it('When a job\'s result or error quotes a NUL character (an id or a header read from a file), Then its outcome is stored, the NUL as U+FFFD', async () => {
      // Before, Postgres refused both (22P05, 22021): a job that had published its version stayed running and was swept as interrupted.
      const ok = await jobs.enqueue('nul-result', { path: 'a\u0000b' });
      await jobs.claimNext(['nul-result'], 'w1');
      expect(await jobs.note(ok.id, 'w1', { draft: 'v\u0000' })).toBe(true);
      expect(await jobs.succeed(ok.id, 'w1', { version: 'v2', unknownSample: ['\u0000', 'x\u0000y'] })).toBe(true);
      expect(await jobs.get(ok.id)).toMatchObject({ status: 'succeeded', params: { path: 'a\uFFFDb' }, result: { version: 'v2', unknownSample: ['\uFFFD', 'x\uFFFDy'] } });
      const bad = await jobs.enqueue('nul-error', {});
      await jobs.claimNext(['nul-error'], 'w1');
      expect(await jobs.fail(bad.id, 'w1', 'header "qu\u0000antity" is not a column')).toBe(true);
      expect(await jobs.get(bad.id)).toMatchObject({ status: 'failed', error: 'header "qu\uFFFDantity" is not a column' });
    });

    it('When an erasure rewrote export files, Then the results of those finished exports count what is left and the new size; other jobs stay as they were', async () => {
      const finished = async (type: string, result: unknown) => {
        const job = await jobs.enqueue(type, {});
        await jobs.claimNext([type], 'w-scrub');
        await jobs.succeed(job.id, 'w-scrub', result);
        return job.id;
      };
      const result = { kind: 'audience', format: 'csv', campaignId: null, modelVersion: 'v1', customers: 10, rows: 10, bytes: 900, ms: 5, restartedFrom: [] };
      const done = await finished('export', result);
      const other = await finished('export', result);
      const notExport = await finished('import', { rows: 10, customers: 10, bytes: 900 });
      const running = await jobs.enqueue('export', {});
      await jobs.claimNext(['export'], 'w-running');
      await jobs.exportsScrubbed(new Map([
        [done, { rows: 3, customers: 2, bytes: 700 }],
        [notExport, { rows: 3, customers: 2, bytes: 700 }],
        [running.id, { rows: 3, customers: 2, bytes: 700 }],
        ['no-such-job', { rows: 1, customers: 1, bytes: 1 }],
      ]));
      expect((await jobs.get(done))!.result).toEqual({ ...result, rows: 7, customers: 8, bytes: 700 });
      expect((await jobs.get(other))!.result).toEqual(result);
      expect((await jobs.get(notExport))!.result).toEqual({ rows: 10, customers: 10, bytes: 900 });
      expect((await jobs.get(running.id))!.result).toBeNull();
    });

    it('When an exclusive job is queued, Then a second one of the key is refused with the holder id until the first ends', async () => {
      const first = await jobs.enqueue('train', {}, { exclusiveKey: 'excl-a' });
      const second = await jobs.enqueue('train', {}, { exclusiveKey: 'excl-a' }).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(AppError);
      expect(second).toMatchObject({ code: 'JOB_ALREADY_RUNNING', status: 409, details: [{ jobId: first.id }] });
      await jobs.claimNext(['train'], 'w1');
      // Still refused while running.
      await expect(jobs.enqueue('train', {}, { exclusiveKey: 'excl-a' })).rejects.toMatchObject({ details: [{ jobId: first.id }] });
      await jobs.fail(first.id, 'w1', 'boom');
      const third = await jobs.enqueue('train', {}, { exclusiveKey: 'excl-a' });
      expect(third.id).not.toBe(first.id);
      // Jobs without a key never conflict.
      await jobs.enqueue('train', {});
      await jobs.enqueue('train', {});
    });

    it('When many enqueues of one exclusive key race, Then exactly one is accepted', async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => jobs.enqueue('race', {}, { exclusiveKey: 'excl-race' })));
      const accepted = outcomes.filter((o) => o.status === 'fulfilled');
      expect(accepted).toHaveLength(1);
      const winner = (accepted[0] as PromiseFulfilledResult<{ id: string }>).value.id;
      for (const o of outcomes.filter((x) => x.status === 'rejected')) {
        expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'JOB_ALREADY_RUNNING', details: [{ jobId: winner }] });
      }
    });

    it('When two claimers race over many jobs, Then every job is claimed exactly once', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add((await jobs.enqueue('claim-race', { i })).id);
      const claimer = async (worker: string) => {
        const got: string[] = [];
        for (;;) {
          const job = await jobs.claimNext(['claim-race'], worker);
          if (!job) return got;
          expect(job.workerId).toBe(worker);
          got.push(job.id);
        }
      };
      const [a, b] = await Promise.all([claimer('A'), claimer('B')]);
      const all = [...a, ...b];
      expect(all).toHaveLength(20);
      expect(new Set(all)).toEqual(ids);
    });

    it('When running jobs are recovered, Then only stale, dead-worker or (with all) every running job fails as interrupted', async () => {
      const fresh = await jobs.enqueue('recover', {}, { runningAs: 'alive' });
      const stale = await jobs.enqueue('recover', {}, { runningAs: 'slow' });
      const dead = await jobs.enqueue('recover', {}, { runningAs: 'dead' });
      await t.db.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [stale.id]);
      const failed = await jobs.failInterrupted({ staleAfterMs: 60_000, deadWorkers: ['dead'] });
      expect(failed.map((j) => j.id).sort()).toEqual([stale.id, dead.id].sort());
      expect(await jobs.get(stale.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
      expect(await jobs.get(fresh.id)).toMatchObject({ status: 'running' });
      expect((await jobs.failInterrupted({ all: true })).map((j) => j.id)).toContain(fresh.id);
    });
  });
}
