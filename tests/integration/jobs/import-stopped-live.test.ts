import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobHandlers } from '../../../src/jobs/job-handlers.js';
import type { JobRecord } from '../../../src/jobs/job-repository.js';
import type { JobContext } from '../../../src/jobs/job-runner.js';
import { JOB_TYPES } from '../../../src/jobs/job-types.js';
import { createImportedPurchasesFeed } from '../../../src/serving/record-purchases.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import type { Trainer } from '../../../src/training/train-model.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const DAY = 86_400_000;

/**
 * An import job that stops part way (a `;` file's number that is not one past its first 20 rows, a line it cannot read)
 * has stored the rows before it, and says so: the data team mends the file and imports it again, which adds nothing.
 * The purchases the stopped import stored were told to live recommendations only after a finished import, and the
 * import of the mended file, storing none of them again, does not tell them either: they waited for the next training.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('an import job that stops part way, with an active model', () => {
  let t: TestDb;
  let store: ModelStore;
  let dir: string;
  const modelNow = Date.now() - 10 * DAY;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    store = await createMemoryModelStore({});
    await store.publish({ version: 'v-stopped-import', recipe: 'default', trainedAt: new Date(modelNow).toISOString(), info: { serving: { now: modelNow } } });
    dir = mkdtempSync(path.join(tmpdir(), 'import-stopped-live-'));
  });
  afterAll(async () => {
    await store?.close();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When a ; events file stops at a bad number past its first rows, Then the purchases stored before it count in live recommendations', async () => {
    const ts = new Date(Date.now() - DAY).toISOString();
    const good = Array.from({ length: 30 }, (_, k) => `sl-u${k};sl-i;1;2,5;${ts}`);
    writeFileSync(path.join(dir, 'events.csv'), ['user_id;item_id;quantity;price;ts', ...good, `sl-bad;sl-i;1;2,50 €;${ts}`].join('\n'));
    const feed = createImportedPurchasesFeed({ db: t.db, store });
    const handlers = createJobHandlers({ db: t.db, trainer: {} as Trainer, onImported: async (since) => void (await feed(since)) });
    const ctx = { job: {} as JobRecord, signal: new AbortController().signal, progress: async () => {}, note: async () => true } as unknown as JobContext;
    await expect(handlers[JOB_TYPES.import]({ format: 'generic', path: dir }, ctx)).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/data row 31, column 4 \(price\)/) });
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE item_id = 'sl-i'");
    expect(rows[0].n).toBe(30);
    expect((await store.getUserEvents('sl-u0')).map((e) => e.itemId)).toEqual(['sl-i']);
    expect((await store.getUserEvents('sl-u29')).map((e) => e.itemId)).toEqual(['sl-i']);
  });
});
