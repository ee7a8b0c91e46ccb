import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../../src/data/importers/run-import.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

/**
 * While the server holds the model store's versions back (serving.holdCustomerData: a start at which the store did
 * not answer, until the scrub of the erasures it lost has run), nothing of them may be served: a Redis restored from
 * a snapshot older than an erasure holds the erased customer in every artifact, their profile row included. The
 * recommendations were held back; a customer's profile and the segment report read the store on their own.
 */
const usePostgres = await serviceAvailable(POSTGRES_URL);

describe('a process holding back the model store until its erasure catch-up has run', () => {
  let t: TestApp;
  let customer: string;
  let release: () => void = () => {};
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await runImport({ db: t.services.db }, { format: 'online-retail', path: FIRST_START_SAMPLE });
    await t.services.trainer.train({ tune: false });
    const { rows } = await t.services.db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY user_id LIMIT 1');
    customer = rows[0].user_id;
  }, 240_000);
  afterAll(async () => {
    release();
    await t?.dispose();
  });

  it('When a profile is asked while held, Then it is not read from the held store, and is once the hold ends', async () => {
    const before = await t.app.inject({ url: `/v1/users/${customer}/profile`, headers: auth('read') });
    expect(before.statusCode).toBe(200);
    expect(before.json().source).toBe('model');

    t.services.serving.holdCustomerData(new Promise<void>((resolve) => (release = resolve)));
    const recs = await t.app.inject({ url: `/v1/users/${customer}/recommendations?k=3`, headers: auth('read') });
    expect(recs.json().modelVersion).toBeNull();
    const held = await t.app.inject({ url: `/v1/users/${customer}/profile`, headers: auth('read') });
    expect(held.statusCode, held.body).toBe(404);
    const segments = await t.app.inject({ url: '/v1/segments', headers: auth('admin') });
    expect(segments.statusCode, segments.body).not.toBe(200);

    release();
    await new Promise((r) => setTimeout(r, 50));
    const after = await t.app.inject({ url: `/v1/users/${customer}/profile`, headers: auth('read') });
    expect(after.statusCode).toBe(200);
  });
});
