/**
 * A training job while Postgres takes connections and answers nothing (stalled-postgres.ts; the import's
 * case is job-stalled-postgres.test.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../../src/training/train-model.js';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import { SHOP_RECIPE } from '../serving/shop-fixture.js';
import { faultTestsRunnable, startFaultApp, type FaultApp } from './fault-app.js';
import { LIMIT_MS, OUTAGE_WAIT_MS, STUCK_MS, runJobThroughStall } from './stalled-postgres.js';

describe.skipIf(!(await faultTestsRunnable()))('a training job while Postgres takes connections and answers nothing', () => {
  let fault: FaultApp;
  let recipesDir: string;
  beforeAll(async () => {
    fault = await startFaultApp({ JOB_RUNNER: 'worker' });
    recipesDir = await mkdtemp(join(tmpdir(), 'stalled-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 120_000);
  afterAll(async () => {
    await fault?.dispose();
    if (recipesDir) await rm(recipesDir, { recursive: true, force: true });
  });

  it('When Postgres stalls as a training job loads its purchases, Then the job fails saying so while it stalls, and the model served is unchanged', async () => {
    const { services, pg } = fault;
    const before = (await services.store.getActive())!.version;
    const trainer = createTrainer({
      events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: false, erasures: services.erasure,
      // Each late statement is retried on a new connection, as through an outage, for OUTAGE_WAIT_MS here (a minute in the service).
      outageWaitMs: OUTAGE_WAIT_MS,
    });
    let frozen = false;
    const { ended, seconds, record } = await runJobThroughStall({
      jobs: createJobRepository(fault.db), type: 'train', stalled: () => frozen, thaw: () => pg.thaw(),
      work: async () => {
        // The pool's idle connections carry the load's statements into the stall.
        await pg.freeze();
        frozen = true;
        return trainer.train({});
      },
    });
    console.log(`training job with a ${LIMIT_MS} ms statement limit: ended ${seconds.toFixed(1)} s after Postgres stalled`);
    expect(ended).toBeDefined();
    expect(ended).not.toBe('succeeded');
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/submitting it again is safe/);
    expect((await services.store.getActive())!.version).toBe(before);
    expect(fault.crashes).toEqual([]);
  }, STUCK_MS + 60_000);
});
