import { describe, expect, it } from 'vitest';
import { buildApp, SHUTDOWN_GRACE_MS } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { INTERRUPTED } from '../../../src/jobs/job-repository.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * The server exits SHUTDOWN_GRACE_MS after SIGTERM whatever is still running (server.ts). A job that
 * would run past it must be recorded as interrupted by the app's own close before then: a process
 * killed first leaves it `running` until the next start, unseen by operations meanwhile.
 */
describe('closing the app while a job runs', () => {
  it('When the job in hand ignores the stop, Then the app closes before the forced exit with the job failed as interrupted and counted', async () => {
    const config = loadConfig({ SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', AUTH_DISABLED: 'true', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' });
    const testDb = await createPgliteTestDb();
    const store = await createMemoryModelStore({});
    const services = createServices({ config, db: testDb.db, store });
    // A training that never ends and never looks at its signal: the worst case of a step that runs on.
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    services.jobRunner = createJobRunner({
      ...services.jobRunnerOptions,
      handlers: { train: () => (started(), new Promise(() => {})) },
      mode: 'inline',
      pollMs: 20,
    });
    const app = await buildApp(services);
    try {
      await app.ready();
      const job = await services.jobs.enqueue('train', {});
      await running;
      const closing = performance.now();
      await app.close();
      expect(performance.now() - closing).toBeLessThan(SHUTDOWN_GRACE_MS);
      expect(await services.jobs.get(job.id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
      const failures = (await services.metrics.jobFailures.get()).values.find((v) => v.labels.type === 'train')?.value;
      expect(failures).toBe(1);
    } finally {
      await app.close();
      await store.close();
      await testDb.dispose();
    }
  }, 30_000);
});
