/**
 * With JOB_RUNNER=worker the jobs run in `npm run worker`, which serves no /metrics, so the runner's own
 * counters never reach Prometheus. The job gauges are read from the shared job table by every API replica.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

describe('job gauges on an API replica whose jobs run elsewhere', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb, env: { JOB_RUNNER: 'worker' } });
  });
  afterAll(() => t?.dispose());

  const sample = async (name: string, labels: Record<string, string>) => {
    const body = (await t.app.inject({ url: '/metrics' })).body;
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('When a worker (another runner on the same table) fails an import and runs a training, Then the replica\'s scrape shows when each last ended and what is pending', async () => {
    // Before any job: every type has its series, at 0.
    expect(await sample('recsvc_jobs_last_ended_timestamp_seconds', { type: 'train', status: 'failed' })).toBe(0);
    const worker = createJobRunner({
      jobs: createJobRepository(t.services.db),
      mode: 'worker',
      handlers: { import: async () => { throw new Error('events.csv: missing column(s) ts'); } },
    });
    const failed = await t.services.jobs.enqueue('import', { format: 'generic', path: 'x' });
    await t.services.jobs.enqueue('train', {});
    expect(await worker.runNext()).toBe(true);
    expect(await t.services.jobs.get(failed.id)).toMatchObject({ status: 'failed' });
    const ended = await sample('recsvc_jobs_last_ended_timestamp_seconds', { type: 'import', status: 'failed' });
    expect(ended).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(ended).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(await sample('recsvc_jobs_last_ended_timestamp_seconds', { type: 'import', status: 'succeeded' })).toBe(0);
    expect(await sample('recsvc_jobs_pending_jobs', { type: 'train', status: 'queued' })).toBe(1);
    expect(await sample('recsvc_jobs_pending_jobs', { type: 'import', status: 'queued' })).toBe(0);
  });
});
