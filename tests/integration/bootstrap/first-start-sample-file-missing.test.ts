import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import { sampleImportPending } from '../../../src/data/sample-import-marker.js';
import { JOB_TYPES } from '../../../src/jobs/job-types.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createPgliteTestDb, type TestDb } from '../../helpers/services.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';

/**
 * SAMPLE_FILE naming a file that is not there: the first start logs it, the service runs on, and the mark "a
 * sample import is under way" does not outlive an import that stored nothing: the shop's own purchases stored
 * afterwards are not taken at the next start for a part of the sample to be completed with SAMPLE_FILE.
 */
describe('first start with a SAMPLE_FILE that cannot be read', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.dispose();
  });

  it('When SAMPLE_FILE is missing, Then the start logs the path and carries on, and the shop data stored later is not completed with the sample at the next start', async () => {
    const db: TestDb = await createPgliteTestDb();
    const memory = await createMemoryModelStore({});
    opened.push(db, { dispose: () => memory.close() });
    const missing = '/nonexistent/r3-online-retail.csv.gz';
    const logged: { level: string; obj: unknown; msg: string }[] = [];
    const log = {
      info: (o: unknown, msg?: string) => logged.push({ level: 'info', obj: o, msg: String(msg ?? o) }),
      warn: (o: unknown, msg?: string) => logged.push({ level: 'warn', obj: o, msg: String(msg ?? o) }),
      error: (o: unknown, msg?: string) => logged.push({ level: 'error', obj: o, msg: String(msg ?? o) }),
    } as unknown as Parameters<typeof bootstrap>[1];
    const first = createServices({ config: loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: missing, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker' }), db: db.db, store: memory });
    expect(await bootstrap(first, log)).toBe(true);
    const failed = logged.find((l) => l.level === 'error');
    expect(failed?.msg).toMatch(/first-start sample loading failed/);
    expect(String((failed?.obj as { err?: Error })?.err?.message)).toContain(missing);
    expect(await sampleImportPending(db.db)).toBe(false);

    // The shop's own data arrives; the operator mends SAMPLE_FILE (or not) and restarts.
    await first.events.insertPurchases(Array.from({ length: 6 }, (_, k) => ({ userId: `shop${k % 3}`, itemId: `i${k % 4}`, quantity: 1, orderId: `o${k}`, ts: new Date(Date.UTC(2026, 0, 1 + k)) })));
    const again = createServices({ config: loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker' }), db: db.db, store: memory });
    expect(await bootstrap(again, log)).toBe(true);
    const buyers = (await db.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY 1')).rows.map((r) => r.user_id);
    expect(buyers).toEqual(['shop0', 'shop1', 'shop2']);
    // Found untrained, the shop's data gets its training job, as any shop's data does.
    expect((await again.jobs.list({ type: JOB_TYPES.train })).map((j) => j.status)).toEqual(['queued']);
  }, 120_000);
});
