import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import { JOB_TYPES } from '../../../src/jobs/job-types.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';

// On Postgres, where several processes share a database (the first start runs under its lock): a schema costs a tenth
// of a PGlite start, and the sample's import there a third.
const postgres = await serviceAvailable(POSTGRES_URL);
if (!postgres && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs Postgres at DATABASE_URL and REQUIRE_SERVICES=true');

/**
 * The first-start work done again once the model store answers (bootstrapUntilDone), by another process on
 * the same database or by the same one restarted, not only by the process that imported the sample: the
 * sample must still be trained once, with the recipe's written weights, as a first start does, not taken for
 * a shop's data.
 */
describe.skipIf(!postgres)('first start on an empty database while the model store does not answer yet', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.dispose();
  });

  it('When two processes start at once and the one that did not import the sample goes first once the store answers, Then the sample is trained once with the written weights, with no tuned training job beside it', async () => {
    const db = await createPostgresTestDb();
    const memory = await createMemoryModelStore({});
    opened.push(db, { dispose: () => memory.close() });
    const state = { up: false };
    const store: ModelStore = {
      ...memory,
      ping: async () => state.up && memory.ping(),
      getActive: async () => {
        if (!state.up) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
        return memory.getActive();
      },
    };
    const config = loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker', TRAIN_THREADS: '1' });
    const services = createServices({ config, db: db.db, store });
    const quiet = { info() {}, warn() {}, error() {} };
    // Both start while Redis is not up: the first imports the sample, the second (after it, on the lock)
    // finds the sample's purchases; neither can ask the store.
    expect(await bootstrap(services, quiet)).toBe(false); // the importer
    expect(await bootstrap(services, quiet)).toBe(false); // the other
    // What SAMPLE_FILE names was imported: its customers are those whose id is a multiple of 130
    // (tests/fixtures/SOURCE.txt), 12350 among them, not the bundled sample's multiples of 13.
    const buyers = (await db.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events')).rows.map((r) => Number(r.user_id));
    expect(buyers).toContain(12350);
    expect(buyers.filter((id) => id % 130 !== 0)).toEqual([]);

    // Redis answers; their next goes, 5 s apart at most, come in either order.
    state.up = true;
    // (The same goes stand for the importer stopped while it waited and started again.)
    expect(await bootstrap(services, quiet)).toBe(true); // the other
    expect(await bootstrap(services, quiet)).toBe(true); // the importer

    // The sample trains once, untuned, as a first start does: not also a tuned training job on the sample.
    expect(await services.jobs.list({ type: JOB_TYPES.train })).toEqual([]);
    const versions = await memory.listVersions();
    expect(versions).toHaveLength(1);
    expect(versions[0].info.tuning).toBeUndefined();
  }, 240_000);
});
