/**
 * A training whose data load meets a Postgres restart. README "Jobs through a restart or failover": a restart
 * or failover costs a job a wait, not the job; only a store away for longer than about a minute fails it (and
 * the job's error then says it was away that long).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage } from '../../../src/jobs/job-runner.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { SHOP_RECIPE } from '../serving/shop-fixture.js';
import { faultTestsRunnable, startFaultApp, type FaultApp } from './fault-app.js';

describe.skipIf(!(await faultTestsRunnable()))('a training through a Postgres restart as it loads its data', () => {
  let fault: FaultApp;
  let recipesDir: string;
  beforeAll(async () => {
    fault = await startFaultApp({ JOB_RUNNER: 'worker' });
    recipesDir = await mkdtemp(join(tmpdir(), 'load-outage-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 120_000);
  afterAll(async () => {
    await fault?.dispose();
    await rm(recipesDir, { recursive: true, force: true });
  });

  it('When Postgres restarts (down 2 s) just as a training loads its purchases, Then the training waits for it and publishes, instead of failing as if Postgres had been away for a minute', async () => {
    const { services } = fault;
    const trainer = createTrainer({
      events: services.events,
      catalog: services.catalog,
      store: services.store,
      defaultRecipe: 'serving-test',
      recipesDir,
      isolation: 'inline',
      storeRecommenders: false,
      erasures: services.erasure,
    });
    const before = (await services.store.getActive())!.version;
    // Redis answers (the active version is read first); Postgres is restarting as the load begins.
    await fault.pg.stop();
    const restarted = new Promise<void>((resolve) => setTimeout(() => void fault.pg.start().then(resolve), 2000));
    const outcome = await trainer.train({}).then(
      (r) => ({ version: r.version, error: null }),
      (err: unknown) => ({ version: null, error: failureMessage(err) }),
    );
    await restarted;
    // What the job would have recorded: "Postgres or Redis did not answer for longer than the job waits
    // for it (about a minute)", after 0 s of waiting.
    expect(outcome.error).toBeNull();
    expect(outcome.version).not.toBe(before);
    expect((await services.store.getActive())!.version).toBe(outcome.version);
  }, 90_000);
});
