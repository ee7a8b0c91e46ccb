import { AppError } from '../../../src/errors.js';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJobRepository, INTERRUPTED, type JobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner, deadLocalWorkers, type JobHandler } from '../../../src/jobs/job-runner.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';
import { queryTimeout, withQueryTimeout } from '../../../src/data/query-timeout.js';
import { settled } from '../../helpers/job-settled.js';

/** Polls until the job leaves queued/running. */

const exitedPid = () => spawnSync(process.execPath, ['-e', '0']).pid;

describe('dead local workers', () => {
  it('When a holder ran on this host in an exited process, Then it is dead; live, foreign or own holders are not', () => {
    const host = hostname();
    const gone = `${host}:${exitedPid()}:aa`;
    const alive = `${host}:${process.ppid}:bb`;
    const self = `${host}:${process.pid}:cc`;
    const foreign = `elsewhere:${exitedPid()}:dd`;
    expect(deadLocalWorkers([gone, alive, self, foreign, null, 'garbage'])).toEqual([gone]);
  });
});

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`job runner on ${backend.name}`, () => {
    let t: TestDb;
    let jobs: JobRepository;
    beforeAll(async () => {
      t = await backend.create();
      jobs = createJobRepository(t.db);
    });
    afterAll(() => t.dispose());

    it('When an inline runner is kicked after an enqueue, Then it runs the job and records progress steps and the result', async () => {
      const seen: { progress: number; step: string | null }[] = [];
      const handlers: Record<string, JobHandler> = {
        echo: async (params, ctx) => {
          await ctx.progress(0.5, 'half');
          const mid = (await jobs.get(ctx.job.id))!;
          seen.push({ progress: mid.progress, step: mid.step });
          return { echoed: params.value };
        },
      };
      const runner = createJobRunner({ jobs, handlers, mode: 'inline', pollMs: 60_000 });
      await runner.start();
      const job = await jobs.enqueue('echo', { value: 42 });
      runner.kick();
      const done = await settled(jobs, job.id);
      await runner.stop();
      expect(done).toMatchObject({ status: 'succeeded', progress: 1, result: { echoed: 42 }, workerId: runner.workerId });
      expect(seen).toEqual([{ progress: 0.5, step: 'half' }]);
    });

    // A server's SHUTDOWN_DELAY_MS: before, the runner went on claiming, so a job queued then was started
    // only to be interrupted when the delay ended, instead of being left to a replica that stays.
    it('When the runner drains, Then the job in hand runs to its end and a job queued meanwhile stays queued', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const started: string[] = [];
      const runner = createJobRunner({
        jobs,
        handlers: { drain: async (params) => (started.push(String(params.n)), await held, { n: params.n }) },
        mode: 'inline',
        pollMs: 20,
      });
      await runner.start();
      const first = await jobs.enqueue('drain', { n: 1 });
      runner.kick();
      await expect.poll(() => started).toEqual(['1']);
      runner.drain();
      const second = await jobs.enqueue('drain', { n: 2 });
      runner.kick();
      // A few of the runner's polls go by.
      await new Promise((r) => setTimeout(r, 200));
      release();
      expect(await settled(jobs, first.id)).toMatchObject({ status: 'succeeded', result: { n: 1 } });
      await runner.stop();
      expect(started).toEqual(['1']);
      expect(await jobs.get(second.id)).toMatchObject({ status: 'queued', workerId: null });
      // Another runner takes it.
      const next = createJobRunner({ jobs, handlers: { drain: async (params) => ({ n: params.n }) }, mode: 'inline', pollMs: 20 });
      await next.start();
      expect(await settled(jobs, second.id)).toMatchObject({ status: 'succeeded', result: { n: 2 } });
      await next.stop();
    });

    it('When a statement limit is given, Then the runner claims, reports progress and records outcomes under it, and the handler works without it', async () => {
      const seen: Record<string, number | undefined> = {};
      const watched = Object.fromEntries(
        Object.entries(jobs).map(([name, call]) => [name, (...args: unknown[]) => ((seen[name] = queryTimeout()), (call as (...a: unknown[]) => unknown)(...args))]),
      ) as unknown as JobRepository;
      const runner = createJobRunner({
        jobs: watched,
        handlers: { probe: async (_params, ctx) => ((seen.handler = queryTimeout()), await ctx.progress(0.5, 'half')) },
        mode: 'inline',
        pollMs: 60_000,
        statementLimitMs: 1234,
      });
      const job = await jobs.enqueue('probe', {});
      expect(await runner.runNext()).toBe(true);
      expect((await jobs.get(job.id))!.status).toBe('succeeded');
      expect(seen).toMatchObject({ claimNext: 1234, progress: 1234, succeed: 1234, handler: undefined });
      expect('handler' in seen).toBe(true);
    });

    it('When a job is run from within a request (its statements limited), Then the job runs with no statement limit', async () => {
      const limits: (number | undefined)[] = [];
      const runner = createJobRunner({ jobs, handlers: { probe: async () => void limits.push(queryTimeout()) }, mode: 'inline', pollMs: 60_000 });
      const job = await jobs.enqueue('probe', {});
      const held = (await jobs.claimNext(['probe'], runner.workerId))!;
      expect(held.id).toBe(job.id);
      await withQueryTimeout(100, () => {
        limits.push(queryTimeout());
        return runner.runHeld(held);
      });
      expect(limits).toEqual([100, undefined]);
      expect((await jobs.get(job.id))!.status).toBe('succeeded');
    });

    it('When a handler throws, Then the job fails with its message and the runner goes on with the next job', async () => {
      const runner = createJobRunner({
        jobs,
        mode: 'worker',
        handlers: {
          boom: async () => {
            throw new Error('not enough data to train: 1 user');
          },
          ok: async () => 'fine',
        },
      });
      const bad = await jobs.enqueue('boom', {});
      const good = await jobs.enqueue('ok', {});
      expect(await runner.runNext()).toBe(true);
      expect(await runner.runNext()).toBe(true);
      expect(await runner.runNext()).toBe(false);
      expect(await jobs.get(bad.id)).toMatchObject({ status: 'failed', error: 'not enough data to train: 1 user' });
      expect(await jobs.get(good.id)).toMatchObject({ status: 'succeeded', result: 'fine' });
    });

    it('When a job fails because a store stayed away past its retries, Then its error says so and that submitting it again is safe', async () => {
      const runner = createJobRunner({
        jobs,
        mode: 'worker',
        handlers: {
          outage: async () => {
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5440'), { code: 'ECONNREFUSED' });
          },
        },
      });
      const job = await jobs.enqueue('outage', {});
      expect(await runner.runNext()).toBe(true);
      const failed = await jobs.get(job.id);
      expect(failed?.status).toBe('failed');
      expect(failed?.error).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:5440: Postgres or Redis did not answer .* submitting it again is safe/);
    });

    it("When a job fails on what its request asked for (a wrong file), Then the log has a warning with the reason, not an error with a stack; a fault is still an error", async () => {
      const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
      const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
      const runner = createJobRunner({
        jobs,
        mode: 'worker',
        log: { info: at('info'), warn: at('warn'), error: at('error') },
        handlers: {
          wrongFile: async () => {
            throw new AppError('UNPROCESSABLE', 'events.csv: missing column(s) ts');
          },
          fault: async () => {
            throw new Error('a bug');
          },
        },
      });
      const wrong = await jobs.enqueue('wrongFile', {});
      const broken = await jobs.enqueue('fault', {});
      await runner.runNext();
      await runner.runNext();
      const failed = lines.filter((l) => l.msg === 'job failed');
      expect(failed.map((l) => [l.level, l.obj.jobId])).toEqual([
        ['warn', wrong.id],
        ['error', broken.id],
      ]);
      expect(failed[0].obj).toMatchObject({ code: 'UNPROCESSABLE', reason: 'events.csv: missing column(s) ts' });
      expect(failed[0].obj).not.toHaveProperty('err');
      expect(failed[1].obj.err).toBeInstanceOf(Error);
    });

    it('When a job left running by a killed process exists, Then runner start marks it failed as interrupted', async () => {
      const killed = await jobs.enqueue('orphan', {}, { runningAs: `${hostname()}:${exitedPid()}:ab12ef` });
      const stale = await jobs.enqueue('orphan', {}, { runningAs: 'other-host:1:ffffff' });
      await t.db.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [stale.id]);
      const elsewhere = await jobs.enqueue('orphan', {}, { runningAs: 'other-host:2:eeeeee' });
      const runner = createJobRunner({ jobs, handlers: {}, mode: 'worker', staleAfterMs: 60_000 });
      await runner.start();
      await runner.stop();
      expect(await jobs.get(killed.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
      expect(await jobs.get(stale.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
      // A live holder elsewhere with a fresh heartbeat keeps its job.
      expect(await jobs.get(elsewhere.id)).toMatchObject({ status: 'running' });
      await jobs.fail(elsewhere.id, 'other-host:2:eeeeee', 'cleanup');
    });

    // Embedded PGlite reads the process's own clock: only a database server can disagree with the host.
    it.skipIf(backend.name === 'pglite')('When the sweeping host’s clock runs an hour ahead of the database, Then a job with a fresh heartbeat is not taken for stale', async () => {
      const live = await jobs.enqueue('orphan', {}, { runningAs: 'other-host:4:aaaaaa' });
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 3_600_000);
      try {
        const runner = createJobRunner({ jobs, handlers: {}, mode: 'worker', staleAfterMs: 60_000 });
        await runner.start();
        await runner.stop();
      } finally {
        vi.useRealTimers();
      }
      expect(await jobs.get(live.id)).toMatchObject({ status: 'running' });
      await jobs.fail(live.id, 'other-host:4:aaaaaa', 'cleanup');
    });

    it('When a worker on this host dies after a sweeper started, Then the sweeper fails its job at a later sweep, not only at start', async () => {
      // No handlers: a runner that claims nothing and only sweeps (an API process with JOB_RUNNER=worker).
      const interrupted: string[] = [];
      const sweeper = createJobRunner({
        jobs, handlers: {}, mode: 'worker', pollMs: 20, sweepMs: 20, staleAfterMs: 3_600_000,
        onInterrupted: async (failed) => void interrupted.push(...failed.map((j) => j.id)),
      });
      await sweeper.start();
      const orphan = await jobs.enqueue('orphan', {}, { runningAs: `${hostname()}:${exitedPid()}:cd34ab` });
      try {
        // The heartbeat is fresh: only the dead process gives the job away.
        expect(await settled(jobs, orphan.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
      } finally {
        await sweeper.stop();
      }
      // Its cleanup (the draft model of a training) ran too.
      expect(interrupted).toContain(orphan.id);
    });

    it('When the database is the process’s own, Then every running job at start is interrupted', async () => {
      const left = await jobs.enqueue('orphan', {}, { runningAs: 'other-host:3:dddddd' });
      const runner = createJobRunner({ jobs, handlers: {}, mode: 'inline', exclusiveDatabase: true });
      await runner.start();
      await runner.stop();
      expect(await jobs.get(left.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
    });

    it('When a running job is declared interrupted by another runner, Then its progress call fails and the verdict stands', async () => {
      let progressError: unknown;
      const runner = createJobRunner({
        jobs,
        mode: 'worker',
        handlers: {
          slow: async (_params, ctx) => {
            await jobs.failInterrupted({ all: true });
            progressError = await ctx.progress(0.5, 'late').catch((e: unknown) => e);
            expect(ctx.signal.aborted).toBe(true);
            return 'finished anyway';
          },
        },
      });
      const job = await jobs.enqueue('slow', {});
      await runner.runNext();
      expect(progressError).toBeInstanceOf(Error);
      expect(await jobs.get(job.id)).toMatchObject({ status: 'failed', error: INTERRUPTED, progress: 0 });
    });

    it('When a runner stops while a job ignores the stop past the grace time, Then the job is recorded as interrupted', async () => {
      let release!: () => void;
      const runner = createJobRunner({
        jobs,
        mode: 'worker',
        pollMs: 10,
        abandonAfterMs: 50,
        handlers: { stuck: () => new Promise((resolve) => (release = () => resolve('too late'))) },
      });
      const job = await jobs.enqueue('stuck', {});
      await runner.start();
      while ((await jobs.get(job.id))!.status === 'queued') await new Promise((r) => setTimeout(r, 10));
      const stopping = runner.stop({ graceMs: 50 });
      setTimeout(() => release(), 300);
      await stopping;
      expect(await jobs.get(job.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
    });
  });
}
