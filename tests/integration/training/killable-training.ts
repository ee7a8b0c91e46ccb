/**
 * A worker process for the kill test: claims one queued training from the given Postgres schema and
 * Redis prefix, says WRITTEN once the new version is fully written but not yet published, and then
 * hangs until the test kills it with SIGKILL.
 *
 *   node --import tsx killable-training.ts SCHEMA REDIS_PREFIX
 */
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createPgDb } from '../../../src/data/db.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { createJobHandlers } from '../../../src/jobs/job-handlers.js';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { POSTGRES_URL, REDIS_URL } from '../../helpers/services.js';

const [schema, prefix] = process.argv.slice(2);
const db = createPgDb(POSTGRES_URL, { schema, max: 2 });
const store = createRedisModelStore({ url: REDIS_URL, prefix });
const trainer = createTrainer({
  events: createEventRepository(db),
  catalog: createCatalogRepository(db),
  store,
  defaultRecipe: 'default',
  threads: 1,
  afterStep: async (step) => {
    if (step !== 'write') return;
    process.stdout.write('WRITTEN\n');
    setInterval(() => {}, 1000);
    await new Promise(() => {});
  },
});
const runner = createJobRunner({ jobs: createJobRepository(db), handlers: createJobHandlers({ db, trainer }), mode: 'worker' });
if (!(await runner.runNext())) process.stdout.write('NO JOB\n');
